import { describe, expect, it } from 'vitest';
import { buildKbSupersedence, matchAdvisory, matchWindowsAdvisory, matchWindowsKb, withRemediationSupersedence } from '../../src/core/matching.js';
import type { AffectedPackage } from '../../src/core/types.js';

/** MSRC 2023-Nov: KB5032190 (Windows 11 22H2) supersedes KB5031354; KB5032196 (Server 2019) supersedes KB5031361. */
const kb = (name: string, supersedes: string[] = [], supersededBy?: string[]): AffectedPackage => ({
  ecosystem: 'Windows',
  name,
  binaries: [],
  ranges: [],
  versions: [],
  supersedes,
  ...(supersededBy ? { supersededBy } : {}),
});

const NOV_WIN11 = kb('KB5032190', ['KB5031354']);
const NOV_SRV2019 = kb('KB5032196', ['KB5031361']);
/** December's cumulative update, from a later advisory: supersedes November's. */
const DEC_WIN11 = kb('KB5033375', ['KB5032190']);
const graph = buildKbSupersedence([NOV_WIN11, NOV_SRV2019, DEC_WIN11]);

describe('Windows KB matching with supersedence', () => {
  it('exposes a host that has an older update of the line but not the fix', () => {
    const result = matchWindowsKb(NOV_WIN11, new Set(['KB5030651', 'KB5031354']), graph);
    expect(result).toEqual({ affected: true, fixed: 'KB5032190', reason: 'KB5031354 installed, which KB5032190 supersedes; KB5032190 or a later update is missing', undetermined: false });
  });

  it('does not expose a host that has the fix', () => {
    expect(matchWindowsKb(NOV_WIN11, new Set(['KB5031354', 'KB5032190']), graph)).toMatchObject({ affected: false, reason: 'KB5032190 is installed' });
  });

  it('does not expose a host with a later cumulative update that supersedes the fix, transitively', () => {
    const jan = kb('KB5034123', ['KB5033375']);
    const longer = buildKbSupersedence([NOV_WIN11, DEC_WIN11, jan]);
    expect(matchWindowsKb(NOV_WIN11, new Set(['KB5031354', 'KB5034123']), longer)).toMatchObject({
      affected: false,
      undetermined: false,
      reason: 'KB5034123 is installed and supersedes KB5032190',
    });
    // supersededBy on the entry itself counts as well.
    const told = buildKbSupersedence([kb('KB5032190', ['KB5031354'], ['kb5099999'])]);
    expect(matchWindowsKb(NOV_WIN11, new Set(['KB5031354', 'KB5099999']), told).affected).toBe(false);
  });

  it('does not expose a host of another Windows version (no KB of the fix line installed)', () => {
    expect(matchWindowsKb(NOV_WIN11, new Set(['KB5031361']), graph)).toMatchObject({ affected: false, undetermined: false, reason: expect.stringContaining('another Windows version') });
    expect(matchWindowsKb(NOV_SRV2019, new Set(['KB5031361']), graph)).toMatchObject({ affected: true, fixed: 'KB5032196' });
  });

  it('is undetermined when the entry names no superseded update and the host has none of its KBs', () => {
    const standalone = kb('KB5032339');
    const result = matchWindowsKb(standalone, new Set(['KB5031354']), buildKbSupersedence([standalone]));
    expect(result).toMatchObject({ affected: false, undetermined: true });
  });

  it('lists the exposing fixes of a multi-product advisory, and survives a supersedence cycle in bad data', () => {
    expect(matchWindowsAdvisory([NOV_WIN11, NOV_SRV2019], new Set(['KB5031354']), graph).map((m) => [m.kb, m.result.affected])).toEqual([['KB5032190', true]]);
    const cycle = buildKbSupersedence([kb('KB5000001', ['KB5000002']), kb('KB5000002', ['KB5000001'])]);
    expect(matchWindowsKb(kb('KB5000001', ['KB5000002']), new Set(['KB5000003']), cycle)).toMatchObject({ affected: false, undetermined: false });
  });

  it('tells which older KBs of the line made the host exposed', () => {
    expect(matchWindowsAdvisory([NOV_WIN11], new Set(['kb5031354', 'KB5030651']), graph)).toEqual([
      { kb: 'KB5032190', installedOlder: ['KB5031354'], result: expect.objectContaining({ affected: true, fixed: 'KB5032190' }) },
    ]);
  });

  it('takes supersedence from MSRC remediations (bare numbers, several per product, some none)', () => {
    const entries = [kb('KB5032190'), kb('KB5032196', ['KB5000001']), { ...kb('KB5032190'), ecosystem: 'Debian:12' }];
    const remediations = [
      { kb: 'KB5032190', supercedence: '5031354' },
      { kb: 'KB5032190', supercedence: null },
      { kb: 'KB5032196', supercedence: '5031361; KB5031362' },
      { kb: null, supercedence: '5099999' },
    ];
    const [win11, server, other] = withRemediationSupersedence(entries, remediations);
    expect(win11!.supersedes).toEqual(['KB5031354']);
    expect(server!.supersedes).toEqual(['KB5000001', 'KB5031361', 'KB5031362']);
    expect(other!.supersedes).toEqual([]);
    expect(withRemediationSupersedence(entries, [])).toBe(entries);
  });

  it('never exposes a host through the package matcher for holding the fixing KB', () => {
    expect(matchAdvisory([NOV_WIN11], { ecosystem: 'Windows', name: 'KB5032190', version: '2023-11-15' }).affected).toBe(false);
  });
});
