/** Small helpers the commands share for what they print. */
export const fmtInt = (n: number) => n.toLocaleString('en-US');

export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
}

export function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}
