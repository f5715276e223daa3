import { describe, expect, it } from 'vitest';
import { decidePostTiming, slaNoticeDue, type ChannelPolicy } from '../../src/core/notification-policy.js';
import { nextDailyTime, quietHoursEnd } from '../../src/core/quiet-hours.js';

const BERLIN_NIGHT = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };
const at = (iso: string) => new Date(iso);

describe('quiet hours in the channel\'s zone', () => {
  it('is quiet from start to midnight and from midnight to end, ending at end local time', () => {
    // 22:30 CET = 21:30 UTC: quiet until 07:00 CET next day = 06:00 UTC.
    expect(quietHoursEnd(at('2026-11-23T21:30:00Z'), BERLIN_NIGHT)?.toISOString()).toBe('2026-11-24T06:00:00.000Z');
    // 05:59 CET: quiet until 07:00 the same day.
    expect(quietHoursEnd(at('2026-11-24T04:59:00Z'), BERLIN_NIGHT)?.toISOString()).toBe('2026-11-24T06:00:00.000Z');
    // 07:00 sharp and 21:59 CET are not quiet.
    expect(quietHoursEnd(at('2026-11-24T06:00:00Z'), BERLIN_NIGHT)).toBeNull();
    expect(quietHoursEnd(at('2026-11-24T20:59:00Z'), BERLIN_NIGHT)).toBeNull();
    // 22:00 sharp is quiet.
    expect(quietHoursEnd(at('2026-11-24T21:00:00Z'), BERLIN_NIGHT)?.toISOString()).toBe('2026-11-25T06:00:00.000Z');
  });

  it('reads the clock of the channel, not UTC: the same instant is quiet in Tokyo and not in New York', () => {
    const instant = at('2026-11-23T14:00:00Z'); // 23:00 in Tokyo, 09:00 in New York
    expect(quietHoursEnd(instant, { ...BERLIN_NIGHT, timeZone: 'Asia/Tokyo' })?.toISOString()).toBe('2026-11-23T22:00:00.000Z');
    expect(quietHoursEnd(instant, { ...BERLIN_NIGHT, timeZone: 'America/New_York' })).toBeNull();
  });

  it('ends at the right instant across a daylight saving change', () => {
    // Night of 28/29 March 2026: Berlin goes from CET (+1) to CEST (+2) at 02:00; 07:00 CEST is 05:00 UTC.
    expect(quietHoursEnd(at('2026-03-28T22:00:00Z'), BERLIN_NIGHT)?.toISOString()).toBe('2026-03-29T05:00:00.000Z');
  });

  it('handles a same-day window and an empty one', () => {
    const lunch = { start: '12:00', end: '13:30', timeZone: 'UTC' };
    expect(quietHoursEnd(at('2026-11-23T12:45:00Z'), lunch)?.toISOString()).toBe('2026-11-23T13:30:00.000Z');
    expect(quietHoursEnd(at('2026-11-23T13:30:00Z'), lunch)).toBeNull();
    expect(quietHoursEnd(at('2026-11-23T12:45:00Z'), { start: '12:00', end: '12:00', timeZone: 'UTC' })).toBeNull();
  });

  it('finds the next daily time strictly after now', () => {
    expect(nextDailyTime(at('2026-11-23T07:00:00Z'), '09:00', 'Europe/Berlin').toISOString()).toBe('2026-11-23T08:00:00.000Z');
    expect(nextDailyTime(at('2026-11-23T08:00:00Z'), '09:00', 'Europe/Berlin').toISOString()).toBe('2026-11-24T08:00:00.000Z');
  });
});

describe('post timing', () => {
  const quiet: ChannelPolicy = { quietHours: BERLIN_NIGHT, digestAt: null };
  const digest: ChannelPolicy = { quietHours: null, digestAt: '09:00' };
  const night = at('2026-11-23T23:00:00Z');

  it('delays non-critical posts to the end of quiet hours and lets critical ones through', () => {
    expect(decidePostTiming({ now: night, policy: quiet, severity: 'high', critical: false, isAlert: true })).toEqual({ action: 'delay', until: at('2026-11-24T06:00:00Z') });
    expect(decidePostTiming({ now: night, policy: quiet, severity: 'critical', critical: true, isAlert: true })).toEqual({ action: 'now' });
    expect(decidePostTiming({ now: at('2026-11-23T12:00:00Z'), policy: quiet, severity: 'low', critical: false, isAlert: true })).toEqual({ action: 'now' });
  });

  it('leaves Medium and Low alerts for the digest, never Critical or High, and never other posts', () => {
    expect(decidePostTiming({ now: night, policy: digest, severity: 'medium', critical: false, isAlert: true })).toEqual({ action: 'digest' });
    expect(decidePostTiming({ now: night, policy: digest, severity: 'low', critical: false, isAlert: true })).toEqual({ action: 'digest' });
    expect(decidePostTiming({ now: night, policy: digest, severity: 'high', critical: false, isAlert: true })).toEqual({ action: 'now' });
    expect(decidePostTiming({ now: night, policy: digest, severity: 'medium', critical: false, isAlert: false })).toEqual({ action: 'now' });
  });
});

describe('SLA notices', () => {
  const base = { openedAt: '2026-11-20T00:00:00.000Z', dueAt: '2026-11-24T00:00:00.000Z', fraction: 0.75 };
  it('reminds after the fraction of the window and escalates at the due time', () => {
    expect(slaNoticeDue({ ...base, now: at('2026-11-22T23:59:00Z') })).toBeNull();
    expect(slaNoticeDue({ ...base, now: at('2026-11-23T00:00:00Z') })).toBe('reminder');
    expect(slaNoticeDue({ ...base, now: at('2026-11-24T00:00:00Z') })).toBe('breach');
    expect(slaNoticeDue({ ...base, fraction: 0, now: at('2026-11-23T12:00:00Z') })).toBeNull();
  });
});
