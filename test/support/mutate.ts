/** Mutations of a text input that look almost right: what a feed really sends (the fuzz suite and the native-ingest comparison). */
/** Odd values a feed really sends: numbers, dates and bytes that look almost right. */
export const ODD = ['', ' ', '"', '""', '"a,b"', ',', '\n', '\r', '\r\n', '\t', '\u0000', '\ufeff', '\u00a0', 'NaN', 'Infinity', '-0', '1e400', '-1', '0x10', '1_000', '5,5', '1.2.3',
  '99999999999999999999', '2026-13-01T00:00:00+08:00', '0026-10-01T00:15:00+08:00', '2026-10-01T00:15:60+08:00', '2026-10-01T00:15:00+99:99', '2999-01-01T00:00:00Z',
  '2026-10-01', '2026/10/01 00:15', 'null', 'true', '[]', '{}', '{"a":', '\\', '💡', '鼓东', '\udc00', 'x'.repeat(70_000)];

export function mutate(text: string, rand: () => number): string {
  let s = text;
  const n = 1 + Math.floor(rand() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * (s.length + 1));
    const op = Math.floor(rand() * 7);
    if (op === 0) s = s.slice(0, at) + ODD[Math.floor(rand() * ODD.length)] + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 40));
    else if (op === 2) s = s.slice(0, at);
    else if (op === 3) { const len = Math.floor(rand() * 80); s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); }
    else if (op === 4) {
      // replace one field value (between separators) with an odd one
      const m = /[^,\n"{}:]+/g;
      m.lastIndex = at;
      const hit = m.exec(s);
      if (hit) s = s.slice(0, hit.index) + ODD[Math.floor(rand() * ODD.length)] + s.slice(hit.index + hit[0].length);
    } else if (op === 5) { const lines = s.split('\n'); const i = Math.floor(rand() * lines.length), j = Math.floor(rand() * lines.length); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; s = lines.join('\n'); }
    else s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x3000)) + s.slice(at);
  }
  return s;
}

