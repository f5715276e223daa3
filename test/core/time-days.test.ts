import { describe, expect, it } from 'vitest';
import { dayInZone, startOfDayInZone } from '../../src/core/time.js';

/** Date pickers answer a calendar day; Patchdeck reads it as that day in the team's zone. */
describe('days in the team time zone', () => {
  it('gives the first instant of a day in the zone, on both sides of a DST switch', () => {
    expect(startOfDayInZone('2026-11-30', 'Europe/Berlin')).toBe('2026-11-29T23:00:00.000Z');
    expect(startOfDayInZone('2026-07-01', 'Europe/Berlin')).toBe('2026-06-30T22:00:00.000Z');
    // Clocks go forward at 02:00 on 29 March and back at 03:00 on 25 October: midnight is before either.
    expect(startOfDayInZone('2026-03-29', 'Europe/Berlin')).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfDayInZone('2026-10-25', 'Europe/Berlin')).toBe('2026-10-24T22:00:00.000Z');
    expect(startOfDayInZone('2026-11-30', 'America/New_York')).toBe('2026-11-30T05:00:00.000Z');
    expect(startOfDayInZone('2026-11-30', 'UTC')).toBe('2026-11-30T00:00:00.000Z');
  });

  it('refuses what is not a calendar day', () => {
    for (const text of ['2026-02-30', '2026-13-01', '30.11.2026', '2026-11-30T00:00', '', '2026-1-5']) expect(startOfDayInZone(text, 'Europe/Berlin')).toBeNull();
  });

  it('names the day an instant falls on in the zone', () => {
    expect(dayInZone(new Date('2026-11-23T23:30:00.000Z'), 'Europe/Berlin')).toBe('2026-11-24');
    expect(dayInZone(new Date('2026-11-23T23:30:00.000Z'), 'UTC')).toBe('2026-11-23');
    expect(dayInZone(new Date('2026-11-24T03:00:00.000Z'), 'America/New_York')).toBe('2026-11-23');
  });
});
