/**
 * A full re-judge of a stored district in a process of its own, so its peak resident memory is the
 * re-judge's alone (bench/run.ts's close scenario runs it at store.memory_limit settings).
 * Usage: node --import tsx bench/rejudge.ts <db file> <memory_limit> <last complete day ms>
 * Prints one JSON line: seconds, peak RSS (MiB), leads.
 */
import { openDb } from '../src/store/db.js';
import { parsePipeline } from '../src/config/pipeline.js';
import { runDetectors } from '../src/store/detectors.js';
import { markAllDirty } from '../src/store/judgeState.js';

const [file, memoryLimit, lastDay] = process.argv.slice(2);
let peak = process.memoryUsage().rss;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
const db = await openDb(file!, { memoryLimit });
// as the worker re-judges after an edit: every day again, through the incremental runner (in slices)
await markAllDirty(db.con);
const t0 = performance.now();
const run = await runDetectors(db, parsePipeline({}).detectors, { lastCompleteDayMs: Number(lastDay), incremental: true });
const secs = (performance.now() - t0) / 1000;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
db.close();
console.log(JSON.stringify({ secs, peak_rss_mib: Math.round(peak / 2 ** 20), leads: run.leads.length }));
