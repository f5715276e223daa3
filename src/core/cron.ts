import { parse } from 'node-cron';

/**
 * When a node-cron expression fires next after `after`, in the team's time zone; null when it does
 * not fire within five years or uses a field form this helper does not read (nth weekday).
 * node-cron matches every field together (day of month AND day of week), and so does this.
 */
export function nextCronRun(expression: string, after: Date, timeZone: string): Date | null {
  let fields: ReturnType<typeof parse>;
  try {
    fields = parse(expression);
  } catch {
    return null;
  }
  const numbers = (values: (number | string)[]) => (values.every((v) => typeof v === 'number') ? new Set(values as number[]) : null);
  const daysOfWeek = numbers(fields.dayOfWeek.map((d) => (d === 7 ? 0 : d)));
  const lastDayOnly = fields.dayOfMonth.length === 1 && fields.dayOfMonth[0] === 'L';
  const daysOfMonth = lastDayOnly ? null : numbers(fields.dayOfMonth);
  if (daysOfWeek === null || (daysOfMonth === null && !lastDayOnly)) return null;
  const months = new Set(fields.month);
  const seconds = [...fields.second].sort((a, b) => a - b);
  const minutes = [...fields.minute].sort((a, b) => a - b);
  const hours = [...fields.hour].sort((a, b) => a - b);

  const start = localParts(after, timeZone);
  // Walk the calendar days of the zone; a wall time is turned into an instant only when it matches.
  for (let offset = 0; offset <= 5 * 366; offset++) {
    const day = new Date(Date.UTC(start.year, start.month - 1, start.day + offset));
    const [year, month, date] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    if (!months.has(month) || !daysOfWeek.has(day.getUTCDay())) continue;
    const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (lastDayOnly ? date !== lastDay : !daysOfMonth!.has(date)) continue;
    for (const hour of hours) {
      for (const minute of minutes) {
        for (const second of seconds) {
          const instant = zonedInstant(year, month, date, hour, minute, second, timeZone);
          if (instant.getTime() > after.getTime()) return instant;
        }
      }
    }
  }
  return null;
}

interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(instant: Date, timeZone: string): WallTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The instant a wall-clock time in the zone names (for a time skipped by a DST change: one hour on). */
function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, second: number, timeZone: string): Date {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  let guess = asUtc;
  // Two rounds settle the zone offset, also next to a DST change.
  for (let round = 0; round < 2; round++) {
    const seen = localParts(new Date(guess), timeZone);
    const seenAsUtc = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second);
    guess += asUtc - seenAsUtc;
  }
  return new Date(guess);
}
