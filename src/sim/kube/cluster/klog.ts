/**
 * Formats log lines the way flanneld (klog) prints them: `I1126 10:00:00.123456       1 main.go:215] msg`.
 * `ms` may be fractional: the fraction gives the microseconds.
 */
export type KlogLevel = 'I' | 'W' | 'E' | 'F';

export function klogLine(level: KlogLevel, location: string, message: string, ms = Date.now()): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp =
    `${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}${pad(Math.floor((ms % 1) * 1000), 3)}`;
  return `${level}${stamp}       1 ${location}] ${message}`;
}
