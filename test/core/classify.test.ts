import { describe, expect, it } from 'vitest';
import { classifyExposure, DEFAULT_CLASSIFICATION_POLICY, publishedSeverity, severityFromVendorWord, type ClassificationInput } from '../../src/core/classify.js';
import { kevFixture } from '../helpers/advisories.js';

// The policy changed in round 2 from "CVSS band, raised by KEV and host criticality" to CISA's SSVC tree
// with a KEV floor: a CVSS score alone no longer makes an exposure high, exploitation and the host do.
const server = { criticality: 'medium', role: 'server', groups: [] } as const;
const sudoKev = kevFixture('CVE-2021-3156'); // knownRansomwareCampaignUse "Unknown"
const kernelKev = kevFixture('CVE-2017-1000253'); // knownRansomwareCampaignUse "Known"
const CRITICAL_VECTOR = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';

function input(overrides: Partial<ClassificationInput>): ClassificationInput {
  return { cvss: null, vendorSeverity: null, kev: null, host: server, ...overrides };
}

describe('publishedSeverity', () => {
  it.each([
    [9.8, 'critical', '≥ 9'],
    [9.0, 'critical', '≥ 9'],
    [8.9, 'high', '≥ 7'],
    [7.0, 'high', '≥ 7'],
    [6.9, 'medium', '≥ 4'],
    [4.0, 'medium', '≥ 4'],
    [3.9, 'low', '< 4'],
    [0, 'low', '< 4'],
  ] as const)('bands CVSS %s as %s', (score, severity, band) => {
    expect(publishedSeverity({ cvss: { score, vector: null }, vendorSeverity: null })).toEqual({ severity, what: `CVSS ${score.toFixed(1)} (${band})` });
  });

  it('computes the score from a vector published without one, else uses the vendor word', () => {
    expect(publishedSeverity({ cvss: { score: null, vector: CRITICAL_VECTOR }, vendorSeverity: null })).toEqual({
      severity: 'critical',
      what: 'CVSS 9.8 (computed from the vector) (≥ 9)',
    });
    expect(publishedSeverity({ cvss: null, vendorSeverity: 'MODERATE' })).toEqual({ severity: 'medium', what: 'vendor severity "MODERATE"' });
    expect(publishedSeverity({ cvss: { score: null, vector: 'CVSS:3.1/AV:N' }, vendorSeverity: 'Important' })?.severity).toBe('high');
    expect(publishedSeverity({ cvss: null, vendorSeverity: 'spicy' })).toBeNull();
  });
});

describe('classifyExposure', () => {
  it('explains every step: published severity, the four decision points, the decision and the role', () => {
    const result = classifyExposure(input({ cvss: { score: 9.8, vector: CRITICAL_VECTOR } }));
    expect(result.reasons).toEqual([
      `Published: CVSS 9.8 (≥ 9), ${CRITICAL_VECTOR}: critical`,
      'Exploitation: none (not in CISA KEV, no exploit reported, no EPSS score)',
      'Automatable: yes (CVSS AV:N/AC:L/PR:N/UI:N: reachable over the network without privileges or user action)',
      'Technical impact: total (CVSS C:H/I:H/PR:N)',
      'Mission & well-being: medium (host criticality medium)',
      'SSVC decision Track: medium (published critical, held to low–medium)',
      'Role: server',
    ]);
    expect(result.ssvc).toMatchObject({ exploitation: 'none', automatable: 'yes', technicalImpact: 'total', mission: 'medium', decision: 'track' });
  });

  it('keeps an unexploited flaw at medium at most on an ordinary host, however high its CVSS score (no false alarm)', () => {
    expect(classifyExposure(input({ cvss: { score: 9.8, vector: CRITICAL_VECTOR } })).severity).toBe('medium');
    expect(classifyExposure(input({ vendorSeverity: 'high' })).severity).toBe('medium');
    expect(classifyExposure(input({ vendorSeverity: 'negligible' })).severity).toBe('low');
  });

  it('rises with the host: a critical host makes an automatable total-impact flaw Attend', () => {
    const result = classifyExposure(input({ cvss: { score: 9.8, vector: CRITICAL_VECTOR }, host: { criticality: 'critical', role: 'database', groups: [] } }));
    expect(result.severity).toBe('high');
    expect(result.reasons).toContain('SSVC decision Attend: high (published critical, held to high)');
  });

  it('makes an actively exploited, automatable, total-impact flaw critical (EPSS counts as exploitation)', () => {
    const epss = { cve: 'CVE-2099-0001', percentile: 0.97, scoreDate: '2026-11-22' };
    const result = classifyExposure(input({ cvss: { score: 9.8, vector: CRITICAL_VECTOR }, epss }));
    expect(result.severity).toBe('critical');
    expect(result.reasons).toContain('Exploitation: active (EPSS of CVE-2099-0001 at the 97% percentile on 2026-11-22 (≥ 95%))');
  });

  it('raises a KEV exposure to the KEV minimum and says so', () => {
    const result = classifyExposure(input({ vendorSeverity: 'low', kev: sudoKev, host: { criticality: 'low', role: 'workstation' } }));
    expect(result.severity).toBe('high');
    expect(result.reasons).toEqual([
      'Published: vendor severity "low": low',
      'Exploitation: active (in CISA KEV since 2022-04-06)',
      'Automatable: no (no CVSS vector to tell, so not assumed)',
      'Technical impact: partial (no CVSS vector; vendor severity "low" is low)',
      'Mission & well-being: low (host criticality low)',
      'SSVC decision Track: low (published low, within low–medium)',
      'In CISA KEV (federal due date 2022-04-27): raised from low to high (the KEV minimum)',
      'Role: workstation',
    ]);
  });

  it('makes a KEV exposure with known ransomware use critical, and a KEV flaw on a critical host Act', () => {
    const ransom = classifyExposure(input({ cvss: { score: 5, vector: null }, kev: kernelKev }));
    expect(ransom.severity).toBe('critical');
    expect(ransom.reasons).toContain('In CISA KEV (federal due date 2024-09-30), known ransomware use: raised to critical');
    const onDatabase = classifyExposure(input({ vendorSeverity: 'high', kev: sudoKev, host: { criticality: 'critical', role: 'database' } }));
    expect(onDatabase.severity).toBe('critical');
    expect(onDatabase.reasons).toContain('SSVC decision Act: critical (published high, held to critical)');
  });

  it('follows a configured policy', () => {
    const noRansomRule = { ...DEFAULT_CLASSIFICATION_POLICY, kev: { minimum: 'medium' as const, criticalWhenRansomware: false } };
    expect(classifyExposure(input({ cvss: { score: 2, vector: null }, kev: kernelKev }), noRansomRule).severity).toBe('medium');
    const track = { min: 'low', max: 'high' } as const;
    const lenient = { ...DEFAULT_CLASSIFICATION_POLICY, ssvc: { ...DEFAULT_CLASSIFICATION_POLICY.ssvc, severityByDecision: { ...DEFAULT_CLASSIFICATION_POLICY.ssvc.severityByDecision, track } } };
    expect(classifyExposure(input({ cvss: { score: 9.8, vector: CRITICAL_VECTOR } }), lenient).severity).toBe('high');
  });

  it('says when a vector cannot be read', () => {
    expect(classifyExposure(input({ cvss: { score: 7.5, vector: 'CVSS:9/garbage' } })).reasons).toContain('CVSS vector "CVSS:9/garbage" could not be read');
  });
});

describe('severityFromVendorWord', () => {
  it('reads the words vendors use', () => {
    expect(severityFromVendorWord('CRITICAL')).toBe('critical');
    expect(severityFromVendorWord('Ubuntu priority: medium')).toBe('medium');
    expect(severityFromVendorWord('unknown')).toBeNull();
  });
});
