/** Minimal RFC 4180 CSV line splitting (quotes, doubled quotes, CRLF, BOM). */

/** Split one physical line; returns undefined when a quoted field continues on the next line. */
export function splitCsvLine(line: string, sep = ','): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    if (i < n && line[i] === '"') {
      let val = '';
      i++;
      while (true) {
        const q = line.indexOf('"', i);
        if (q === -1) return undefined; // field continues past this line
        val += line.slice(i, q);
        if (line[q + 1] === '"') { val += '"'; i = q + 2; continue; }
        i = q + 1;
        break;
      }
      out.push(val);
      if (i >= n) return out;
      if (line[i] !== sep) {
        // text after a closing quote: keep it rather than lose data
        const next = line.indexOf(sep, i);
        out[out.length - 1] += next === -1 ? line.slice(i) : line.slice(i, next);
        if (next === -1) return out;
        i = next;
      }
      i++;
      if (i === n) { out.push(''); return out; }
    } else {
      const next = line.indexOf(sep, i);
      if (next === -1) { out.push(line.slice(i)); return out; }
      out.push(line.slice(i, next));
      i = next + 1;
      if (i === n) { out.push(''); return out; }
    }
  }
}

export function csvEscape(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header.map(csvEscape).join(','), ...rows.map((r) => r.map(csvEscape).join(','))].join('\r\n') + '\r\n';
}
