import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { computeDueAt } from '../../src/core/sla.js';
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
