/** Text output helpers for the client commands. */

/** 83 s → "1m 23s"; 4_000_000 ms → "1h 06m 40s". */
export function duration(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h) return `${h}h ${pad(m)}m ${pad(s % 60)}s`;
  if (m) return `${m}m ${pad(s % 60)}s`;
  return `${s}s`;
}

/** Terminal columns a string takes: East Asian wide and full-width characters take two. */
export function width(s: string): number {
  let n = 0;
  for (const ch of s) n += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return n;
}

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  const pad = (cell: string, i: number, last: boolean) => (last ? cell : cell + ' '.repeat(widths[i] - width(cell)));
  return rows.map((r) => r.map((cell, i) => pad(cell, i, i === r.length - 1)).join('  ')).join('\n') + '\n';
}
