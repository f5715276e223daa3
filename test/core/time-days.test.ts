import { describe, expect, it } from 'vitest';
import { dayInZone, endOfDayInZone, isCalendarDay, localTimeInZone, startOfDayInZone, zonedIsoTime } from '../../src/core/time.js';

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
    expect(startOfDayInZone('2026-03-08', 'America/New_York')).toBe('2026-03-08T05:00:00.000Z');
  });

  it('ends a day at 23:59:59.999 in the zone', () => {
    expect(endOfDayInZone('2026-12-01', 'Europe/Berlin')).toBe('2026-12-01T22:59:59.999Z');
    expect(endOfDayInZone('2026-12-01', 'Asia/Kolkata')).toBe('2026-12-01T18:29:59.999Z');
    expect(endOfDayInZone('2026-12-01', 'UTC')).toBe('2026-12-01T23:59:59.999Z');
    expect(endOfDayInZone('2026-12-01', 'America/Los_Angeles')).toBe('2026-12-02T07:59:59.999Z');
  });

  it('follows a daylight-saving switch on that very day', () => {
    // New York springs forward on 2027-03-14 (EST -5 at midnight, EDT -4 at its end) and falls back on 2026-11-01.
    expect(startOfDayInZone('2027-03-14', 'America/New_York')).toBe('2027-03-14T05:00:00.000Z');
    expect(endOfDayInZone('2027-03-14', 'America/New_York')).toBe('2027-03-15T03:59:59.999Z');
    expect(startOfDayInZone('2026-11-01', 'America/New_York')).toBe('2026-11-01T04:00:00.000Z');
    expect(endOfDayInZone('2026-11-01', 'America/New_York')).toBe('2026-11-02T04:59:59.999Z');
  });

  it('reads a time without zone as a wall-clock time there, and one with zone as given', () => {
    expect(localTimeInZone('2026-12-01T18:00', 'Europe/Berlin')).toBe('2026-12-01T17:00:00.000Z');
    expect(localTimeInZone('2027-07-01T09:30:15', 'Europe/Berlin')).toBe('2027-07-01T07:30:15.000Z');
    expect(zonedIsoTime('2026-12-01T09:00:00Z')).toBe('2026-12-01T09:00:00.000Z');
    expect(zonedIsoTime('2026-12-01T09:00+01:00')).toBe('2026-12-01T08:00:00.000Z');
  });

  it('refuses what is not a calendar day', () => {
    for (const text of ['2026-02-30', '2026-13-01', '30.11.2026', '2026-11-30T00:00', '', '2026-1-5', 'tomorrow', '2026-12-01T09:00:00Z']) {
      expect([text, startOfDayInZone(text, 'Europe/Berlin'), endOfDayInZone(text, 'Europe/Berlin'), isCalendarDay(text)]).toEqual([text, null, null, false]);
    }
    for (const text of ['2026-12-01T24:00', '2026-02-30T10:00', '2026-12-01T09:00Z', '2026-12-01']) expect([text, localTimeInZone(text, 'UTC')]).toEqual([text, null]);
    // Date.parse alone would roll 30 February over into March.
    for (const text of ['2026-02-30T10:00:00Z', '2026-12-01T09:00', '2026-12-01', 'soon']) expect([text, zonedIsoTime(text)]).toEqual([text, null]);
    expect(isCalendarDay('2028-02-29')).toBe(true);
  });

  it('names the day an instant falls on in the zone', () => {
    expect(dayInZone(new Date('2026-11-23T23:30:00.000Z'), 'Europe/Berlin')).toBe('2026-11-24');
    expect(dayInZone(new Date('2026-11-23T23:30:00.000Z'), 'UTC')).toBe('2026-11-23');
    expect(dayInZone(new Date('2026-11-24T03:00:00.000Z'), 'America/New_York')).toBe('2026-11-23');
  });
});
