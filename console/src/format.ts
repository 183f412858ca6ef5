const numbers = new Intl.NumberFormat();

export const count = (n: number) => numbers.format(n);

/** A quota of milliseconds, e.g. "59 min 30 s" or "2 h 5 min". */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  return m % 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m / 60} h`;
}

/** A media length in milliseconds, e.g. "3.2 s". */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
