/** Characters as a person counts them (code points), the unit of the TTS quota. */
export function countChars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The platform's wire format for times in lists: "yyyy-MM-dd HH:mm:ss" in the server's time zone. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A size for people: "512 bytes", "1.5 KB", "12.3 MB", "2.1 GB". */
export function formatBytes(n: number): string {
  const KB = 1024, MB = KB * 1024, GB = MB * 1024;
  if (n >= GB) return `${Number((n / GB).toFixed(1))} GB`;
  if (n >= MB) return `${Number((n / MB).toFixed(1))} MB`;
  if (n >= KB) return `${Number((n / KB).toFixed(1))} KB`;
  return `${n} bytes`;
}
