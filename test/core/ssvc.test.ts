import { describe, expect, it } from 'vitest';
import {
  decideAutomatable,
  decideExploitation,
  decideMission,
  decideTechnicalImpact,
  DEFAULT_SSVC_POLICY,
  evaluateSsvc,
  listSsvcTree,
  parseCvssVector,
  ssvcDecision,
  type ExploitationEvidence,
} from '../../src/core/ssvc.js';

const NO_EVIDENCE: ExploitationEvidence = { kevDateAdded: null, epss: null, exploitStatus: [], cvss: null };
const v31 = (v: string) => parseCvssVector(`CVSS:3.1/${v}`)!;

describe('the SSVC tree', () => {
  it('holds CISA coordinator tree 2.0.3: 36 rows, spot-checked against the published table', () => {
    expect(listSsvcTree()).toHaveLength(36);
    // Rows 0, 5, 8, 16, 26, 29, 30, 34 and 35 of cisa_coordinator_2_0_3.csv.
    expect(ssvcDecision('none', 'no', 'partial', 'low')).toBe('track');
    expect(ssvcDecision('none', 'no', 'total', 'high')).toBe('track*');
    expect(ssvcDecision('none', 'yes', 'partial', 'high')).toBe('attend');
    expect(ssvcDecision('poc', 'no', 'total', 'medium')).toBe('track*');
    expect(ssvcDecision('active', 'no', 'partial', 'high')).toBe('attend');
    expect(ssvcDecision('active', 'no', 'total', 'high')).toBe('act');
    expect(ssvcDecision('active', 'yes', 'partial', 'low')).toBe('attend');
    expect(ssvcDecision('active', 'yes', 'total', 'medium')).toBe('act');
    expect(ssvcDecision('active', 'yes', 'total', 'high')).toBe('act');
  });
});

describe('parseCvssVector', () => {
  it('reads CVSS 3.1, 4.0 and 2.0 metrics and refuses garbage', () => {
    expect(v31('AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toMatchObject({ version: '3.x', metrics: { AV: 'N', C: 'H' } });
    expect(parseCvssVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toMatchObject({ version: '4.0', metrics: { AT: 'N', VC: 'H' } });
    expect(parseCvssVector('AV:N/AC:L/Au:N/C:P/I:P/A:P')).toMatchObject({ version: '2.0', metrics: { Au: 'N' } });
    expect(parseCvssVector('not a vector')).toBeNull();
  });
});

describe('decision points', () => {
  it('exploitation: KEV, then exploit status words, then EPSS against the threshold, then CVSS E', () => {
    expect(decideExploitation({ ...NO_EVIDENCE, kevDateAdded: '2022-04-06' }, DEFAULT_SSVC_POLICY)).toEqual({ value: 'active', reason: 'in CISA KEV since 2022-04-06' });
    expect(decideExploitation({ ...NO_EVIDENCE, exploitStatus: ['Exploited in the wild'] }, DEFAULT_SSVC_POLICY).value).toBe('active');
    expect(decideExploitation({ ...NO_EVIDENCE, exploitStatus: ['No known exploitation'] }, DEFAULT_SSVC_POLICY).value).toBe('none');
    expect(decideExploitation({ ...NO_EVIDENCE, exploitStatus: ['Proof of concept published'] }, DEFAULT_SSVC_POLICY).value).toBe('poc');
    const epss = { cve: 'CVE-2024-6387', percentile: 0.951, scoreDate: '2026-11-22' };
    expect(decideExploitation({ ...NO_EVIDENCE, epss }, DEFAULT_SSVC_POLICY)).toEqual({
      value: 'active',
      reason: 'EPSS of CVE-2024-6387 at the 95.1% percentile on 2026-11-22 (≥ 95%)',
    });
    expect(decideExploitation({ ...NO_EVIDENCE, epss }, { ...DEFAULT_SSVC_POLICY, epssActivePercentile: 0.99 })).toEqual({
      value: 'none',
      reason: 'not in CISA KEV, no exploit reported, EPSS 95.1% percentile is below 99%',
    });
    expect(decideExploitation({ ...NO_EVIDENCE, cvss: v31('AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P') }, DEFAULT_SSVC_POLICY).value).toBe('poc');
    expect(decideExploitation({ ...NO_EVIDENCE, cvss: parseCvssVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A') }, DEFAULT_SSVC_POLICY).value).toBe('active');
  });

  it('automatable: network, low complexity, no privileges, no user action (and no attack requirements in 4.0)', () => {
    expect(decideAutomatable(v31('AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).value).toBe('yes');
    expect(decideAutomatable(v31('AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H'))).toEqual({ value: 'no', reason: 'CVSS AC:H' });
    expect(decideAutomatable(v31('AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'))).toEqual({ value: 'no', reason: 'CVSS AV:L/PR:L' });
    expect(decideAutomatable(parseCvssVector('CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).value).toBe('no');
    expect(decideAutomatable(null)).toEqual({ value: 'no', reason: 'no CVSS vector to tell, so not assumed' });
  });

  it('technical impact follows the CVSS-to-technical-impact mapping, or the published severity without a vector', () => {
    expect(decideTechnicalImpact(v31('AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:N'), null).value).toBe('total');
    expect(decideTechnicalImpact(v31('AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N'), null).value).toBe('total');
    expect(decideTechnicalImpact(v31('AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:L/A:N'), null)).toEqual({ value: 'partial', reason: 'CVSS C:H/I:L/PR:L' });
    expect(decideTechnicalImpact(v31('AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), null).value).toBe('partial');
    expect(decideTechnicalImpact(null, { severity: 'high', what: 'CVSS 8.1 (≥ 7)' })).toEqual({ value: 'total', reason: 'no CVSS vector; CVSS 8.1 (≥ 7) is high' });
    expect(decideTechnicalImpact(null, { severity: 'medium', what: 'vendor severity "medium"' }).value).toBe('partial');
  });

  it('mission: criticality sets it, an internet-facing group or role raises it one level', () => {
    expect(decideMission({ criticality: 'critical', role: 'database', groups: [] }, DEFAULT_SSVC_POLICY)).toEqual({ value: 'high', reason: 'host criticality critical' });
    expect(decideMission({ criticality: 'low', role: 'server', groups: ['internet-facing'] }, DEFAULT_SSVC_POLICY)).toEqual({
      value: 'medium',
      reason: 'host criticality low (low), internet-facing ("internet-facing") raises it to medium',
    });
    expect(decideMission({ criticality: 'medium', role: 'dmz', groups: [] }, { ...DEFAULT_SSVC_POLICY, exposedGroups: ['dmz'] }).value).toBe('high');
  });
});

describe('evaluateSsvc', () => {
  it('lists every step and the outcome', () => {
    const outcome = evaluateSsvc({
      evidence: { ...NO_EVIDENCE, kevDateAdded: '2021-11-03', cvss: v31('AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H') },
      published: { severity: 'critical', what: 'CVSS 9.8 (≥ 9)' },
      host: { criticality: 'medium', role: 'server', groups: ['web'] },
    });
    expect(outcome).toMatchObject({ exploitation: 'active', automatable: 'yes', technicalImpact: 'total', mission: 'medium', decision: 'act', severity: 'critical' });
    expect(outcome.reasons).toEqual([
      'Exploitation: active (in CISA KEV since 2021-11-03)',
      'Automatable: yes (CVSS AV:N/AC:L/PR:N/UI:N: reachable over the network without privileges or user action)',
      'Technical impact: total (CVSS C:H/I:H/PR:N)',
      'Mission & well-being: medium (host criticality medium)',
      'SSVC decision Act: critical (published critical, within critical)',
    ]);
  });

  it('holds the published severity inside the range the decision allows, as configured', () => {
    const host = { criticality: 'low' as const, role: 'kiosk', groups: [] };
    const track = (published: { severity: 'low' | 'critical'; what: string } | null) => evaluateSsvc({ evidence: NO_EVIDENCE, published, host });
    expect(track({ severity: 'low', what: 'vendor severity "low"' }).severity).toBe('low');
    expect(track({ severity: 'critical', what: 'CVSS 9.8 (≥ 9)' }).reasons.at(-1)).toBe('SSVC decision Track: medium (published critical, held to low–medium)');
    expect(track(null).reasons.at(-1)).toBe('SSVC decision Track: medium (nothing published, so medium, within low–medium)');
    const strict = { ...DEFAULT_SSVC_POLICY, severityByDecision: { ...DEFAULT_SSVC_POLICY.severityByDecision, track: { min: 'medium', max: 'high' } } } as const;
    expect(evaluateSsvc({ evidence: NO_EVIDENCE, published: { severity: 'low', what: 'x' }, host }, strict).severity).toBe('medium');
  });
});
