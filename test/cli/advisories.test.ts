import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import type { CveView } from '../../src/core/cve-merge.js';
import { runCliCaptured } from '../helpers/cli.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;

/** One SQLite database, fed once with real KEV, OSV (Maven) and RSS captures through the CLI itself. */
describe('patchdeck advisories show / list', () => {
  let dir: string;
  const clock = fixedClock('2026-11-23T10:00:00.000Z');

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: `sqlite:${path.join(dir, 'pd.db')}`, PATCHDECK_CONFIG: path.join(dir, 'patchdeck.yaml'), USER: 'carol' }, cwd: FIXTURES, clock });
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-advisories-'));
    writeFileSync(path.join(dir, 'patchdeck.yaml'), 'timezone: UTC\n');
    for (const [kind, file, name] of [
      ['kev', 'kev/known_exploited_vulnerabilities.json', 'kev'],
      ['osv', 'osv/maven', 'ghsa-maven'],
      ['rss', 'rss/us-cert-alerts.rss.xml', 'us-cert'],
    ] as const) {
      const result = await run('feeds', 'ingest', '--kind', kind, '--file', file, '--name', name);
      expect(result.code, result.err).toBe(0);
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows Log4Shell merged from KEV and the GitHub OSV record, as JSON', async () => {
    const result = await run('advisories', 'show', 'cve-2021-44228', '--json');
    expect(result.code).toBe(0);
    const view = JSON.parse(result.out) as CveView;
    expect(view.cve).toBe('CVE-2021-44228');
    expect(view.sources.map((s) => s.id)).toEqual(['GHSA-jfh8-c2jp-5v3q', 'KEV-CVE-2021-44228']);
    expect(view.packages[0]).toMatchObject({ name: 'org.apache.logging.log4j:log4j-core', fixed: ['2.15.0', '2.3.1', '2.12.2'] });
  });

  it('prints the merged view for people: status, sources by authority, fixed versions', async () => {
    const result = await run('advisories', 'show', 'CVE-2021-44228');
    expect(result.code).toBe(0);
    const lines = result.out.split('\n');
    expect(lines[0]).toBe('CVE-2021-44228: Remote code injection in Log4j');
    expect(lines[1]).toBe('Status: Confirmed by OSV record and CISA KEV (2 sources).');
    expect(lines[2]).toBe('Facts: CVSS 10 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H (GHSA-jfh8-c2jp-5v3q); rated CRITICAL by GHSA-jfh8-c2jp-5v3q; CISA KEV since 2021-12-10, used in ransomware');
    expect(result.out).toMatch(/GHSA-jfh8-c2jp-5v3q\s+osv\s+OSV record\s+2021-12-10\s+-\s+fix data used/);
    expect(result.out).toMatch(/KEV-CVE-2021-44228\s+kev\s+CISA KEV\s+2021-12-10\s+-\s+known exploited/);
    expect(result.out).toMatch(/Maven\s+org\.apache\.logging\.log4j:log4j-core\s+2\.15\.0, 2\.3\.1, 2\.12\.2\s+GHSA-jfh8-c2jp-5v3q/);
  });

  it('says a CVE that only an RSS hint names awaits vendor confirmation', async () => {
    const result = await run('advisories', 'show', 'CVE-2014-3566');
    expect(result.code).toBe(0);
    expect(result.out.split('\n')[1]).toMatch(/^Status: Reported by [a-z.-]+, awaiting vendor confirmation\.$/);
    expect(result.out).toContain('Fix: no source gives fix data yet.');
  });

  it('exits 1 for a CVE no advisory names and 2 for something that is not a CVE id', async () => {
    const missing = await run('advisories', 'show', 'CVE-1999-0001');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no stored advisory names CVE-1999-0001');
    const bad = await run('advisories', 'show', 'log4shell');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('CVE-YYYY-NNNN');
    expect((await run('advisories', 'list', '--cve', 'nope')).code).toBe(2);
  });

  it('lists the advisories naming a CVE, optionally of one source', async () => {
    const all = JSON.parse((await run('advisories', 'list', '--cve', 'CVE-2021-44228', '--json')).out) as { id: string }[];
    expect(all.map((a) => a.id).sort()).toEqual(['GHSA-jfh8-c2jp-5v3q', 'KEV-CVE-2021-44228']);
    const kev = await run('advisories', 'list', '--cve', 'CVE-2021-44228', '--source', 'kev');
    const lines = kev.out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^KEV-CVE-2021-44228\s+kev\s+authoritative\s+2021-12-10\s+CVE-2021-44228\s+/);
  });
});
