import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { castVote } from '../../src/workflow/approvals.js';
import { pilotedCase, runCliFor, writeCliConfig } from '../helpers/case-fixtures.js';
import { describeEachStore } from '../helpers/stores.js';

describeEachStore('patchdeck review command', (s) => {
  let configFile: string;
  beforeEach(() => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-review-'));
    configFile = writeCliConfig(dir);
    return () => rmSync(dir, { recursive: true, force: true });
  });
  const run = (...argv: string[]) => runCliFor(s, configFile, ...argv);

  it('prints the review as Markdown in the team zone, or as the Review JSON', async () => {
    const { caseId, ctx } = await pilotedCase(s);
    await castVote(ctx, { caseId, stage: 'pilot_signoff', personId: 'bob', decision: 'approve', via: 'web' });
    const md = await run('review', String(caseId));
    expect(md.code, md.err).toBe(0);
    expect(md.out).toContain(`# Review of case #${caseId}: OpenSSL vulnerabilities`);
    expect(md.out).toContain('- approval: Alice Approver approved via cli at 2026-11-23 10:00 CET');
    expect(md.out).toContain('- pilot sign-off: Bob Approver approved via web at 2026-11-23 10:00 CET');
    expect(md.out).toContain('- SLA (due 2026-11-24 09:00 CET): met: the rollout started 23 hours before the deadline');
    expect(md.out).toContain('| 6 | 0 | 0 | 2 | 0 | 4 |');
    const json = JSON.parse((await run('review', String(caseId), '--format', 'json')).out) as Record<string, unknown>;
    expect(json).toMatchObject({ caseId, caseState: 'deploying', rollout: { state: 'deploying' }, outcomes: { targets: 6, installed: 0, rebooted: 2, notFinished: 4 }, sla: { met: true } });
    expect(Array.isArray(json.lessons)).toBe(true);
  });

  it('refuses an unknown case and an unknown format', async () => {
    const missing = await run('review', '5');
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining('[PD_CASE_NOT_FOUND]')]);
    const format = await run('review', '5', '--format', 'pdf');
    expect(format.code).toBe(2);
    expect(format.err).toContain('md, json');
  });
});
