import { describe, expect, it } from 'vitest';
import { endOfDayInZone, localTimeInZone, startOfDayInZone } from '../../src/cli/time.js';

describe('days and times typed on the command line, in the team time zone', () => {
  it('a day starts at local midnight and ends at 23:59:59.999 there', () => {
    expect(startOfDayInZone('2026-12-01', 'Europe/Berlin')).toBe('2026-11-30T23:00:00.000Z');
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

  it('reads a time without zone as a wall-clock time there', () => {
    expect(localTimeInZone('2026-12-01T18:00', 'Europe/Berlin')).toBe('2026-12-01T17:00:00.000Z');
    expect(localTimeInZone('2027-07-01T09:30:15', 'Europe/Berlin')).toBe('2027-07-01T07:30:15.000Z');
  });

  it('is null for anything that is not a real day or zone-less time', () => {
    for (const text of ['2026-02-30', '2026-13-01', '26-12-01', 'tomorrow', '2026-12-01T09:00:00Z']) {
      expect([text, startOfDayInZone(text, 'UTC'), endOfDayInZone(text, 'UTC')]).toEqual([text, null, null]);
    }
    for (const text of ['2026-12-01T24:00', '2026-02-30T10:00', '2026-12-01T09:00Z', '2026-12-01']) expect([text, localTimeInZone(text, 'UTC')]).toEqual([text, null]);
  });
});
