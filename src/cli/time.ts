/**
 * Days and wall-clock times typed on the command line mean the team's time zone (`config.timezone`),
 * so `--until 2026-12-01` and `--expires 2026-12-01` name the same calendar day people see.
 */

/** The offset of `timeZone` from UTC at `at`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(new Date(at));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - at;
}

/** The instant the wall-clock time `wallUtc` (its fields read as a time in `timeZone`) happens. */
function wallTimeToInstant(wallUtc: number, timeZone: string): number {
  // The offset can change between the guess and the answer (a DST switch that day): correct once.
  const guess = wallUtc - zoneOffsetMs(wallUtc, timeZone);
  return wallUtc - zoneOffsetMs(guess, timeZone);
}

/** `2026-12-01` → the UTC midnight of that calendar day, or null when it is not a real date. */
function parseDay(text: string): number | null {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!day) return null;
  const midnight = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
  return !Number.isNaN(midnight) && new Date(midnight).toISOString().slice(0, 10) === text ? midnight : null;
}

/** The first instant of the day `YYYY-MM-DD` in `timeZone`, as ISO UTC; null when `text` is not a day. */
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
