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

/** One offset reader per time zone, for the same reason as FORMATTERS. */
const OFFSET_FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/** The offset of `timeZone` from UTC at `at`, in ms (positive east of Greenwich). */
function offsetInZoneMs(at: number, timeZone: string): number {
  let formatter = OFFSET_FORMATTERS.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    OFFSET_FORMATTERS.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(new Date(at));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - at;
}

/** The instant the wall-clock time `wallUtc` (its fields read as a time in `timeZone`) happens. */
function wallTimeToInstant(wallUtc: number, timeZone: string): number {
  // The offset can differ between the guess and the answer (a DST switch that day): correct once.
  const guess = wallUtc - offsetInZoneMs(wallUtc, timeZone);
  return wallUtc - offsetInZoneMs(guess, timeZone);
}

/** `2026-12-01` → the UTC midnight of that calendar day, or null when it is not a real one (2026-02-30 is not). */
function parseDay(text: string): number | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!day) return null;
  const midnight = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  return !Number.isNaN(midnight) && new Date(midnight).toISOString().slice(0, 10) === text ? midnight : null;
}

/** Whether `text` is a real calendar day written `YYYY-MM-DD`. */
export function isCalendarDay(text: string): boolean {
  return parseDay(text) !== null;
}

/**
 * The first instant of the day `YYYY-MM-DD` in `timeZone` (a day people pick or type means the team's
 * day), as ISO UTC; null when `text` is not a real calendar day.
 */
export function startOfDayInZone(text: string, timeZone: string): string | null {
  const midnight = parseDay(text);
  return midnight === null ? null : new Date(wallTimeToInstant(midnight, timeZone)).toISOString();
}

/** The last millisecond of the day `YYYY-MM-DD` in `timeZone` (23:59:59.999 there), as ISO UTC; null when `text` is not a day. */
export function endOfDayInZone(text: string, timeZone: string): string | null {
  const midnight = parseDay(text);
  return midnight === null ? null : new Date(wallTimeToInstant(midnight + 86_400_000, timeZone) - 1).toISOString();
}

/** `2026-12-01T18:00` (no zone) → that wall-clock time in `timeZone`, as ISO UTC; null for anything else. */
export function localTimeInZone(text: string, timeZone: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  if (!m) return null;
  const midnight = parseDay(m[1]!);
  const [hours, minutes, seconds] = [Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  if (midnight === null || hours > 23 || minutes > 59 || seconds > 59) return null;
  return new Date(wallTimeToInstant(midnight + ((hours * 60 + minutes) * 60 + seconds) * 1000, timeZone)).toISOString();
}

/** `2026-12-01T09:00:00Z` or `…+01:00`: an ISO time that names its zone, on a real calendar day; as ISO UTC, else null. */
export function zonedIsoTime(text: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  const at = m && parseDay(m[1]!) !== null ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? null : new Date(at).toISOString();
}
