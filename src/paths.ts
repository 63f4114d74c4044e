/** Where the project's own files are, whether running from src/ (tests) or dist/ (CLI): both sit one level below the root. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Project root (holds sql/, pipelines/, fixtures/). */
export const PROJECT_ROOT = join(here, '..');
export const SQL_DIR = join(PROJECT_ROOT, 'sql');
export const DETECTOR_DIR = join(SQL_DIR, 'detectors');
export const MACRO_DIR = join(SQL_DIR, 'macros');
export const PEER_SQL_FILE = join(SQL_DIR, 'peers', 'peer_daily.sql');
export const DEMO_SPEC = join(PROJECT_ROOT, 'fixtures', 'district.json');
export const DEMO_PIPELINE = join(PROJECT_ROOT, 'pipelines', 'demo.json');
