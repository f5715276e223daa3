import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { chooseSla, computeDueAt, formatDuration } from '../../src/core/sla.js';
import { slaDurations } from '../../src/workflow/assess.js';

describe('computeDueAt', () => {
  const defaults = slaDurations(parseConfig({}).policy.sla);

  it('adds the default SLA of each severity: 24h, 7d, 30d, 90d', () => {
    const detected = '2026-03-01T10:00:00.000Z';
    expect(computeDueAt(detected, 'critical', defaults)).toBe('2026-03-02T10:00:00.000Z');
    expect(computeDueAt(detected, 'high', defaults)).toBe('2026-03-08T10:00:00.000Z');
    expect(computeDueAt(detected, 'medium', defaults)).toBe('2026-03-31T10:00:00.000Z');
    expect(computeDueAt(new Date(detected), 'low', defaults)).toBe('2026-05-30T10:00:00.000Z');
  });

  it('follows configured durations and ignores daylight saving (UTC arithmetic)', () => {
    const sla = slaDurations(parseConfig({ policy: { sla: { critical: '90m', high: '2d', medium: '30d', low: '90d' } } }).policy.sla);
    expect(computeDueAt('2026-03-28T23:00:00.000Z', 'critical', sla)).toBe('2026-03-29T00:30:00.000Z');
    expect(computeDueAt('2026-03-28T23:00:00.000Z', 'high', sla)).toBe('2026-03-30T23:00:00.000Z');
  });

  it('refuses a detection time that is not a date', () => {
    expect(() => computeDueAt('yesterday', 'high', defaults)).toThrow(/not a date/);
  });
});

describe('chooseSla', () => {
  const policy = {
    defaults: slaDurations({ critical: '24h', high: '7d', medium: '30d', low: '90d' }),
    byGroup: { pci: { critical: 12 * 3_600_000, high: 3 * 86_400_000 }, lab: { low: 180 * 86_400_000 }, dmz: { high: 2 * 86_400_000 } },
  };

  it('uses the default when no group of the host sets one, and says so', () => {
    expect(chooseSla('high', ['web'], policy)).toEqual({ ms: 7 * 86_400_000, group: null, reason: 'SLA for high: 7d (default)' });
    expect(chooseSla('medium', ['pci'], policy).group).toBeNull();
  });

  it('takes the strictest of the host groups that set one, naming the group', () => {
    expect(chooseSla('high', ['pci', 'dmz', 'web'], policy)).toEqual({ ms: 2 * 86_400_000, group: 'dmz', reason: 'SLA for high: 2d (group "dmz"; default 7d)' });
    expect(chooseSla('critical', ['pci'], policy).reason).toBe('SLA for critical: 12h (group "pci"; default 1d)');
  });

  it('lets a group be looser than the default (a lab)', () => {
    expect(chooseSla('low', ['lab'], policy).ms).toBe(180 * 86_400_000);
  });

  it('formats durations the way operators write them', () => {
    expect([formatDuration(86_400_000), formatDuration(5_400_000), formatDuration(7_200_000)]).toEqual(['1d', '90m', '2h']);
  });
});
