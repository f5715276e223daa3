import { describe, expect, it } from 'vitest';
import { classifyExposure, DEFAULT_CLASSIFICATION_POLICY, severityFromVendorWord, type ClassificationInput } from '../../src/core/classify.js';
import type { KevFacts } from '../../src/core/types.js';
import { kevFixture } from '../helpers/advisories.js';

const server = { criticality: 'medium', role: 'server' } as const;
const sudoKev = kevFixture('CVE-2021-3156'); // knownRansomwareCampaignUse "Unknown"
const kernelKev = kevFixture('CVE-2017-1000253'); // knownRansomwareCampaignUse "Known"

function input(overrides: Partial<ClassificationInput>): ClassificationInput {
  return { cvss: null, vendorSeverity: null, kev: null, host: server, ...overrides };
}

describe('classifyExposure', () => {
  it.each([
    [9.8, 'critical'],
    [9.0, 'critical'],
    [8.9, 'high'],
    [7.0, 'high'],
    [6.9, 'medium'],
    [4.0, 'medium'],
    [3.9, 'low'],
    [0, 'low'],
  ] as const)('maps CVSS %s to %s and shows score and vector', (score, severity) => {
    const vector = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
    const result = classifyExposure(input({ cvss: { score, vector } }));
    expect(result.severity).toBe(severity);
    expect(result.reasons[0]).toBe(`CVSS ${score.toFixed(1)} (${vector}): ${severity} (${score >= 4 ? '≥' : '<'} ${score >= 9 ? 9 : score >= 7 ? 7 : 4})`);
  });

  it('uses the vendor word when no score is published (Ubuntu priority, GitHub rating)', () => {
    expect(classifyExposure(input({ vendorSeverity: 'MODERATE' }))).toEqual({
      severity: 'medium',
      reasons: ['No CVSS score; vendor severity "MODERATE": medium', 'Role: server'],
    });
    expect(classifyExposure(input({ vendorSeverity: 'high' })).severity).toBe('high');
    expect(classifyExposure(input({ vendorSeverity: 'negligible' })).severity).toBe('low');
    expect(classifyExposure(input({ vendorSeverity: 'Important' })).severity).toBe('high');
    expect(classifyExposure(input({ cvss: { score: null, vector: 'CVSS:3.1/AV:N' }, vendorSeverity: 'LOW' })).severity).toBe('low');
  });

  it('falls back to medium, saying so, when there is no score and no known word', () => {
    expect(classifyExposure(input({})).reasons[0]).toBe('No score published: medium');
    const odd = classifyExposure(input({ vendorSeverity: 'spicy' }));
    expect(odd.severity).toBe('medium');
    expect(odd.reasons[0]).toContain('"spicy" is not a known word');
  });

  it('raises a KEV exposure to at least high, with the date it was added', () => {
    const result = classifyExposure(input({ cvss: { score: 5.5, vector: null }, kev: sudoKev }));
    expect(result.severity).toBe('high');
    expect(result.reasons).toContain('In CISA KEV since 2022-04-06 (federal due date 2022-04-27): raised from medium to high');
  });

  it('keeps a KEV exposure that is already above the minimum and says so', () => {
    const result = classifyExposure(input({ cvss: { score: 7.8, vector: null }, kev: sudoKev }));
    expect(result.severity).toBe('high');
    expect(result.reasons[1]).toBe('In CISA KEV since 2022-04-06 (federal due date 2022-04-27): stays high');
  });

  it('makes a KEV exposure critical on known ransomware use', () => {
    const result = classifyExposure(input({ cvss: { score: 5, vector: null }, kev: kernelKev }));
    expect(result.severity).toBe('critical');
    expect(result.reasons[1]).toBe('In CISA KEV since 2024-09-09 (federal due date 2024-09-30), known ransomware use: critical');
  });

  it('makes a KEV exposure critical on a host of high criticality', () => {
    const result = classifyExposure(input({ vendorSeverity: 'low', kev: sudoKev, host: { criticality: 'high', role: 'database' } }));
    expect(result.severity).toBe('critical');
    expect(result.reasons).toEqual([
      'No CVSS score; vendor severity "low": low',
      'In CISA KEV since 2022-04-06 (federal due date 2022-04-27), on a host of high criticality: critical',
      'Role: database',
    ]);
  });

  it('raises one level on a critical host, capped at critical', () => {
    const raised = classifyExposure(input({ cvss: { score: 7.5, vector: null }, host: { criticality: 'critical', role: 'server' } }));
    expect(raised.severity).toBe('critical');
    expect(raised.reasons).toContain('Host criticality critical: raised from high to critical');
    const capped = classifyExposure(input({ cvss: { score: 9.8, vector: null }, host: { criticality: 'critical', role: 'server' } }));
    expect(capped.severity).toBe('critical');
    expect(capped.reasons).toContain('Host criticality critical: already critical');
    expect(classifyExposure(input({ cvss: { score: 2, vector: null }, host: { criticality: 'critical', role: 'kiosk' } })).severity).toBe('medium');
  });

  it('does not raise for hosts of ordinary criticality and names the role last', () => {
    const result = classifyExposure(input({ cvss: { score: 7.5, vector: null }, host: { criticality: 'low', role: 'workstation' } }));
    expect(result).toEqual({ severity: 'high', reasons: ['CVSS 7.5: high (≥ 7)', 'Role: workstation'] });
  });

  it('follows a configured policy', () => {
    const policy = { ...DEFAULT_CLASSIFICATION_POLICY, cvss: { critical: 9.5, high: 8, medium: 5 }, raiseOnHosts: [] };
    expect(classifyExposure(input({ cvss: { score: 9.4, vector: null } }), policy).severity).toBe('high');
    expect(classifyExposure(input({ cvss: { score: 4.5, vector: null } }), policy).severity).toBe('low');
    const noRansomRule = { ...DEFAULT_CLASSIFICATION_POLICY, kev: { minimum: 'medium' as const, criticalWhenRansomware: false, criticalOnHosts: [] } };
    const kev: KevFacts = { ...kernelKev };
    expect(classifyExposure(input({ cvss: { score: 2, vector: null }, kev }), noRansomRule).severity).toBe('medium');
  });
});

describe('severityFromVendorWord', () => {
  it('reads the first known word in any case', () => {
    expect(severityFromVendorWord('CRITICAL')).toBe('critical');
    expect(severityFromVendorWord('Ubuntu priority: medium')).toBe('medium');
    expect(severityFromVendorWord('unknown')).toBeNull();
  });
});
