/**
 * The layout of the given/expect case files (test/sql/cases/*.json): JSON where an object or array
 * whose one-line form fits in `width` columns stays on one line, so a series reads one segment, a
 * registry one meter, per line. Written by a generator, a case of six weeks of daily weather
 * segments ran to 4,600 lines of one number each; an analyst could not read what it drew.
 * Only whitespace differs from JSON.stringify: parsing the output gives back the same value.
 */
export function formatCase(value: unknown, width = 120): string {
  return `${layout(value, 0, width, 0)}\n`;
}

/** `used` is how many columns the line holds before this value (indent and key). */
function layout(value: unknown, indent: number, width: number, used: number): string {
  const flat = oneLine(value);
  if (value === null || typeof value !== 'object' || used + flat.length <= width) return flat;
  const pad = ' '.repeat(indent + 2);
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return `[\n${value.map((v) => pad + layout(v, indent + 2, width, pad.length + 1)).join(',\n')}\n${' '.repeat(indent)}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  return `{\n${entries.map(([k, v]) => {
    const key = `${pad}${JSON.stringify(k)}: `;
    return key + layout(v, indent + 2, width, key.length + 1);
  }).join(',\n')}\n${' '.repeat(indent)}}`;
}

/** One line, a space after each comma and colon (as the hand-written cases are). */
function oneLine(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => oneLine(v === undefined ? null : v)).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  return `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(', ')} }`;
}
