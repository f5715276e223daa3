/**
 * Quiet hours and daily times in a channel's own time zone. Pure: every function takes `now`.
 * Times are "HH:MM" on a 24-hour clock; a window whose start is after its end runs over midnight.
 */

export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  minutes: number;
}

function minutesOf(hhmm: string): number {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(hhmm);
  if (!match) throw new Error(`not a 24-hour time: ${hhmm}`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function localTime(at: Date, timeZone: string): LocalTime {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), minutes: get('hour') * 60 + get('minute') };
}

/** Offset of `timeZone` from UTC at `at`, in ms (Berlin in winter: +3 600 000). */
function offsetAt(at: Date, timeZone: string): number {
  const local = localTime(at, timeZone);
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, 0, local.minutes);
  return asUtc - Math.floor(at.getTime() / 60_000) * 60_000;
}

/**
 * The instant a local wall-clock time happens in `timeZone`, `dayOffset` days after the local date
 * `base`. A time skipped by a DST change comes out an hour later, as clocks show it.
 */
function instantOf(base: LocalTime, dayOffset: number, minutes: number, timeZone: string): Date {
  const guess = Date.UTC(base.year, base.month - 1, base.day + dayOffset, 0, minutes);
  const first = guess - offsetAt(new Date(guess), timeZone);
  const second = guess - offsetAt(new Date(first), timeZone);
  return new Date(second);
}

/** When the quiet hours `now` falls in end, or null when `now` is not in quiet hours. Equal start and end: never quiet. */
export function quietHoursEnd(now: Date, quiet: QuietHours): Date | null {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return null;
  const local = localTime(now, quiet.timeZone);
  const t = local.minutes;
  if (start < end) return t >= start && t < end ? instantOf(local, 0, end, quiet.timeZone) : null;
  // Over midnight: 22:00–07:00 is quiet from 22:00 to midnight and from midnight to 07:00.
  if (t >= start) return instantOf(local, 1, end, quiet.timeZone);
  if (t < end) return instantOf(local, 0, end, quiet.timeZone);
  return null;
}

/** The next time the local clock in `timeZone` shows `hhmm`, strictly after `now`. */
export function nextDailyTime(now: Date, hhmm: string, timeZone: string): Date {
  const local = localTime(now, timeZone);
  const today = instantOf(local, 0, minutesOf(hhmm), timeZone);
  return today > now ? today : instantOf(local, 1, minutesOf(hhmm), timeZone);
}
