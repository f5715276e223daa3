/** One formatter per time zone: building an Intl.DateTimeFormat costs far more than using one (chat answers render many times). */
const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = FORMATTERS.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    FORMATTERS.set(timeZone, formatter);
  }
  return formatter;
}

/** Formats an ISO instant for people, in the team's time zone: `2026-11-23 11:00 CET`. */
export function formatInZone(iso: string | Date, timeZone: string): string {
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(date.getTime())) return String(iso);
  const parts = formatterFor(timeZone).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`;
}

/** "in 3 days", "5 hours ago": relative to `now`, which the caller passes in. */
export function describeRelative(iso: string, now: Date): string {
  const diffMs = new Date(iso).getTime() - now.getTime();
  const abs = Math.abs(diffMs);
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
  ];
  for (const [size, name] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const label = `${n} ${name}${n === 1 ? '' : 's'}`;
      return diffMs >= 0 ? `in ${label}` : `${label} ago`;
    }
  }
  return diffMs >= 0 ? 'in less than a minute' : 'just now';
}

/** The calendar day (`YYYY-MM-DD`) an instant falls on in `timeZone`. */
export function dayInZone(at: Date, timeZone: string): string {
  const parts = formatterFor(timeZone).formatToParts(at);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The offset of `timeZone` from UTC at `at`, in ms (positive east of Greenwich). */
function offsetInZoneMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(at));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - at;
}

/**
 * The first instant of the day `YYYY-MM-DD` in `timeZone` (a date picker's answer means the team's
 * day), as ISO UTC; null when `day` is not a real calendar day.
 */
export function startOfDayInZone(day: string, timeZone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  const midnight = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(midnight) || new Date(midnight).toISOString().slice(0, 10) !== day) return null;
  // The offset can differ between the guess and the answer (a DST switch that day): correct once.
  const guess = midnight - offsetInZoneMs(midnight, timeZone);
  return new Date(midnight - offsetInZoneMs(guess, timeZone)).toISOString();
}
