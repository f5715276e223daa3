import { describe, expect, it } from 'vitest';
import { nextCronRun } from '../../src/core/cron.js';

const at = (iso: string) => new Date(iso);

describe('nextCronRun', () => {
  it('finds the next hourly run after now, never now itself', () => {
    expect(nextCronRun('17 * * * *', at('2026-11-23T10:05:00Z'), 'UTC')?.toISOString()).toBe('2026-11-23T10:17:00.000Z');
    expect(nextCronRun('17 * * * *', at('2026-11-23T10:17:00Z'), 'UTC')?.toISOString()).toBe('2026-11-23T11:17:00.000Z');
    expect(nextCronRun('*/15 * * * *', at('2026-11-23T23:59:30Z'), 'UTC')?.toISOString()).toBe('2026-11-24T00:00:00.000Z');
  });

  it('reads hours in the configured zone, across DST', () => {
    // 06:00 in Berlin is 05:00 UTC in winter (CET) and 04:00 UTC in summer (CEST).
    expect(nextCronRun('0 6 * * *', at('2026-11-23T10:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe('2026-11-24T05:00:00.000Z');
    expect(nextCronRun('0 6 * * *', at('2026-03-28T10:00:00Z'), 'Europe/Berlin')?.toISOString()).toBe('2026-03-29T04:00:00.000Z');
  });

  it('matches weekdays, months, the last day of a month and six-field expressions', () => {
    // 2026-11-23 is a Monday.
    expect(nextCronRun('30 2 * * 6', at('2026-11-23T10:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-28T02:30:00.000Z');
    expect(nextCronRun('0 0 1 jan *', at('2026-11-23T10:00:00Z'), 'UTC')?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextCronRun('0 0 L * *', at('2026-11-23T10:00:00Z'), 'UTC')?.toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(nextCronRun('*/20 * * * * *', at('2026-11-23T10:00:05Z'), 'UTC')?.toISOString()).toBe('2026-11-23T10:00:20.000Z');
  });

  it('gives null for an expression it cannot read', () => {
    expect(nextCronRun('not cron', at('2026-11-23T10:00:00Z'), 'UTC')).toBeNull();
    expect(nextCronRun('0 0 30 2 *', at('2026-11-23T10:00:00Z'), 'UTC')).toBeNull();
  });
});
