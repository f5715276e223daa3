import { describe, expect, it } from 'vitest';
import { describeRelative, formatInZone } from '../../src/core/time.js';

describe('formatInZone', () => {
  it('shows an instant in the team time zone, with the zone name', () => {
    expect(formatInZone('2026-11-23T11:00:00.000Z', 'UTC')).toBe('2026-11-23 11:00 UTC');
    expect(formatInZone('2026-11-23T11:00:00.000Z', 'Europe/Berlin')).toBe('2026-11-23 12:00 CET');
    expect(formatInZone('2026-07-01T23:30:00.000Z', 'Europe/Berlin')).toBe('2026-07-02 01:30 CEST');
  });
});

describe('describeRelative', () => {
  const now = new Date('2026-11-23T11:00:00.000Z');
  it('says how far away a due time is', () => {
    expect(describeRelative('2026-11-24T11:00:00.000Z', now)).toBe('in 1 day');
    expect(describeRelative('2026-11-23T06:00:00.000Z', now)).toBe('5 hours ago');
    expect(describeRelative('2026-11-23T11:00:20.000Z', now)).toBe('in less than a minute');
  });
});
