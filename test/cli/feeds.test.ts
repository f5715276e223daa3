import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildProgram, runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { fixedClock } from '../../src/core/clock.js';
import { startFeedServer, type FeedServer } from '../helpers/feed-server.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const KEV = `${FIXTURES}kev/known_exploited_vulnerabilities.json`;
/** The local feed server is on loopback, which the address guard refuses unless allowed. */
const ALLOW_LOOPBACK = 'fetch:\n  allowHosts: ["127.0.0.1"]\n';

interface Captured {
  io: CliIo;
  out: () => string;
  err: () => string;
}

describe('patchdeck feeds / advisories commands', () => {
  let dir: string;
  let server: FeedServer;
  let configFile: string;

  beforeAll(async () => {
    server = await startFeedServer();
    server.serve('usn.rss', readFileSync(`${FIXTURES}rss/ubuntu-usn.rss.xml`), 'application/rss+xml');
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-feeds-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeConfig(`timezone: Europe/Berlin\n${ALLOW_LOOPBACK}`);
    return () => rmSync(dir, { recursive: true, force: true });
  });

  function writeConfig(yaml: string): void {
    writeFileSync(configFile, yaml);
  }

  function capture(): Captured {
    let out = '';
    let err = '';
    return {
      io: {
        stdout: (t) => void (out += t),
        stderr: (t) => void (err += t),
        readStdin: async () => '',
        env: { DATABASE_URL: `sqlite:${path.join(dir, 'pd.db')}`, PATCHDECK_CONFIG: configFile, USER: 'carol' },
        cwd: FIXTURES,
      },
      out: () => out,
      err: () => err,
    };
  }

  const clock = fixedClock('2026-11-23T10:00:00.000Z');
  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const c = capture();
    const code = await runCli(argv, c.io, { clock });
    return { code, out: c.out(), err: c.err() };
  }

  it('ingests a KEV file (relative to the working directory) and counts a re-run as unchanged', async () => {
    const first = await run('feeds', 'ingest', '--kind', 'kev', '--file', 'kev/known_exploited_vulnerabilities.json', '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ feed: 'kev', kind: 'kev', location: KEV, added: 1404, updated: 0, unchanged: 0, failed: 0, errors: [] });
    const again = await run('feeds', 'ingest', '--kind', 'kev', '--file', KEV);
    expect(again).toEqual({ code: 0, out: `kev (kev) from ${KEV}: 0 added, 0 updated, 1404 unchanged, 0 failed (1 of 1 documents unchanged, not parsed)\n`, err: '' });
    const full = await run('feeds', 'ingest', '--kind', 'kev', '--file', KEV, '--full');
    expect(full).toEqual({ code: 0, out: `kev (kev) from ${KEV}: 0 added, 0 updated, 1404 unchanged, 0 failed\n`, err: '' });
  });

  it('lists and shows quarantined documents, with the security audit event of each', async () => {
    const copy = path.join(dir, 'provider');
    cpSync(`${FIXTURES}csaf/schwarz-informatik`, copy, { recursive: true });
    const doc = path.join(copy, '2025/schwarz_informatik-c1234.json');
    writeFileSync(`${doc}.sha256`, `${'0'.repeat(64)}  schwarz_informatik-c1234.json\n`);
    expect((await run('feeds', 'ingest', '--kind', 'csaf', '--file', copy, '--name', 'schwarz')).code).toBe(1);

    const list = await run('feeds', 'quarantine', 'list');
    expect(list.code).toBe(0);
    const lines = list.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+FEED\s+REASON\s+RECEIVED\s+LOCATION$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^1\\s+schwarz\\s+hash_mismatch\\s+2026-11-23 11:00 CET\\s+${doc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`))]);
    const json = JSON.parse((await run('feeds', 'quarantine', 'list', '--feed', 'schwarz', '--json')).out) as { id: number; sha256: string }[];
    expect(json).toEqual([{ id: 1, feed: 'schwarz', location: doc, reason: 'hash_mismatch', detail: expect.stringContaining('.sha256 says 0000'), sha256: json[0]!.sha256, receivedAt: '2026-11-23T10:00:00.000Z' }]);
    expect(await run('feeds', 'quarantine', 'list', '--feed', 'other')).toMatchObject({ code: 1, out: '', err: expect.stringContaining('[PD_FEED_UNKNOWN] no feed named "other"') });

    const show = await run('feeds', 'quarantine', 'show', '1');
    expect(show.code).toBe(0);
    expect(show.out).toContain('Quarantined document 1\n');
    expect(show.out).toContain(`  Reason:      hash_mismatch\n`);
    expect(show.out).toContain(`  sha256:      ${json[0]!.sha256}\n`);
    expect(show.out).toMatch(/ {2}Audit event: #\d+ by cli:carol\n/);
    expect(show.out).toContain('patchdeck feeds poll --feed schwarz');
    const shown = JSON.parse((await run('feeds', 'quarantine', 'show', '1', '--json')).out) as { auditEvent: { actor: string } };
    expect(shown.auditEvent.actor).toBe('cli:carol');

    expect(await run('feeds', 'quarantine', 'show', '7')).toMatchObject({ code: 1, err: expect.stringContaining('no quarantined document with id 7') });
    expect(await run('feeds', 'quarantine', 'show', 'x')).toMatchObject({ code: 2 });
  });

  it('ingests an OSV directory, reports skipped records on stderr and exits 1', async () => {
    const osvDir = path.join(dir, 'osv');
    cpSync(`${FIXTURES}osv/ubuntu`, osvDir, { recursive: true });
    writeFileSync(path.join(osvDir, 'USN-0000-0.json'), '{"id": "USN-0000-0", "aliases": 5}');
    const result = await run('feeds', 'ingest', '--kind', 'osv', '--file', osvDir, '--name', 'ubuntu');
    expect(result.code).toBe(1);
    expect(result.out).toBe(`ubuntu (osv) from ${osvDir}: 15 added, 0 updated, 0 unchanged, 1 failed\n`);
    expect(result.err).toBe(`patchdeck: skipped ${path.join(osvDir, 'USN-0000-0.json')} (USN-0000-0): is not a valid OSV record: aliases: Invalid input: expected array, received number\n`);
  });

  it('fails with exit 1 and a message naming the file for a truncated document', async () => {
    const result = await run('feeds', 'ingest', '--kind', 'kev', '--file', `${FIXTURES}bad/kev-truncated.json`);
    expect(result.code).toBe(1);
    expect(result.err).toBe(`patchdeck: [PD_FEED_PARSE] ${FIXTURES}bad/kev-truncated.json is not valid JSON: it ends early at position 6000 (truncated?)\n`);
    const status = await run('feeds', 'status', '--json');
    expect(JSON.parse(status.out)).toEqual([
      expect.objectContaining({ name: 'kev', consecutiveFailures: 1, lastSuccessAt: null, lastError: expect.stringContaining('[PD_FEED_PARSE]') }),
    ]);
  });

  it('treats a missing or doubled source, an unknown kind and a bad limit as bad usage (exit 2)', async () => {
    expect((await run('feeds', 'ingest', '--kind', 'kev')).code).toBe(2);
    expect((await run('feeds', 'ingest', '--kind', 'kev', '--file', KEV, '--url', `${server.url}/file/usn.rss`)).code).toBe(2);
    const unknown = await run('feeds', 'ingest', '--kind', 'nosuch', '--file', KEV);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/Allowed choices are kev, osv, rss, .*epss/);
    expect((await run('feeds', 'ingest', '--file', KEV)).code).toBe(2);
    expect((await run('advisories', 'list', '--limit', 'many')).code).toBe(2);
  });

  it('ingests RSS from a URL as hints and lists them with their CVEs', async () => {
    const result = await run('feeds', 'ingest', '--kind', 'rss', '--url', `${server.url}/file/usn.rss`, '--name', 'ubuntu-usn');
    expect(result).toMatchObject({ code: 0, out: `ubuntu-usn (rss) from ${server.url}/file/usn.rss: 10 added, 0 updated, 0 unchanged, 0 failed\n` });
    const list = await run('advisories', 'list', '--source', 'rss', '--json');
    const rows = JSON.parse(list.out) as { id: string; trust: string; title: string; cves: string[]; publishedAt: string }[];
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.trust === 'hint' && r.id.startsWith('HINT-'))).toBe(true);
    expect(rows[0]).toMatchObject({ title: 'USN-7758-4: Linux kernel (Oracle) vulnerability', publishedAt: '2025-09-19T10:20:30.000Z', cves: [] });
    expect(rows.find((r) => r.title.startsWith('USN-7722-2'))!.cves).toEqual(['CVE-2025-38350']);
    const human = await run('advisories', 'list', '--source', 'rss', '--limit', '2');
    const lines = human.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID\s+SOURCE\s+TRUST\s+PUBLISHED\s+CVES\s+TITLE$/);
    expect(lines[1]).toMatch(/^HINT-[0-9a-f]{16}\s+rss\s+hint\s+2025-09-19\s+-\s+USN-7758-4: Linux kernel \(Oracle\) vulnerability$/);
  });

  it('polls the configured feeds, shows their state and exits 1 when one failed', async () => {
    writeConfig(
      [
        'timezone: Europe/Berlin',
        ALLOW_LOOPBACK,
        'feeds:',
        `  - { name: usn, kind: rss, url: "${server.url}/file/usn.rss" }`,
        `  - { name: flaky, kind: osv, url: "${server.url}/status/429" }`,
        `  - { name: kev, kind: kev, file: "${KEV}" }`,
        '',
      ].join('\n'),
    );
    const poll = await run('feeds', 'poll');
    expect(poll.code).toBe(1);
    expect(poll.out).toBe('usn (rss): 10 added, 0 updated, 0 unchanged, 0 failed\nkev (kev): 1404 added, 0 updated, 0 unchanged, 0 failed\n');
    expect(poll.err).toBe(`patchdeck: [PD_FEED_HTTP] feed flaky failed: ${server.url}/status/429 answered HTTP 429 (Retry-After: 120)\n`);
    const one = await run('feeds', 'poll', '--feed', 'usn', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.out)).toMatchObject({ failed: 0, outcomes: [{ feed: 'usn', ok: true, result: { unchanged: 10 } }] });
    expect((await run('feeds', 'poll', '--feed', 'nope')).code).toBe(1);
    // The 429 asked for 120 s: polls skip the feed (exit 0) unless forced.
    const deferred = await run('feeds', 'poll', '--feed', 'flaky');
    expect(deferred).toEqual({ code: 0, out: 'flaky (osv): backing off until 2026-11-23 11:02 CET (its server was busy or down; --force polls now)\n', err: '' });
    const forced = await run('feeds', 'poll', '--feed', 'flaky', '--force');
    expect(forced.code).toBe(1);
    expect(forced.err).toContain('HTTP 429');

    const status = await run('feeds', 'status');
    const lines = status.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^FEED\s+KIND\s+SOURCE\s+LAST RUN\s+LAST SUCCESS\s+FAILURES\s+ITEMS\s+NEXT RUN\s+LAST ERROR$/);
    // Config order; times in the configured zone: 10:00 UTC is 11:00 in Berlin in November. The default
    // schedule is minute 17 of every hour; flaky's first tick after its backoff (10:02 UTC) is 10:17 UTC.
    expect(lines[1]).toMatch(/^usn\s+rss\s+http:\S+\/file\/usn\.rss\s+2026-11-23 11:00 CET\s+2026-11-23 11:00 CET\s+0\s+10\s+2026-11-23 11:17 CET\s+-$/);
    expect(lines[2]).toMatch(/^flaky\s+osv\s+http:\S+\/status\/429\s+2026-11-23 11:00 CET\s+-\s+2\s+0\s+2026-11-23 11:17 CET \(backing off\)\s+.*HTTP 429/);
    expect(lines[3]).toMatch(/^kev\s+kev\s+\S+known_exploited_vulnerabilities\.json\s+2026-11-23 11:00 CET\s+2026-11-23 11:00 CET\s+0\s+1404\s+2026-11-23 11:17 CET\s+-$/);
    const json = JSON.parse((await run('feeds', 'status', '--json')).out) as Record<string, unknown>[];
    expect(json.map((f) => [f.name, f.consecutiveFailures, f.nextAttemptAt, f.nextRunAt])).toEqual([
      ['usn', 0, null, '2026-11-23T10:17:00.000Z'],
      ['flaky', 2, '2026-11-23T10:02:00.000Z', '2026-11-23T10:17:00.000Z'],
      ['kev', 0, null, '2026-11-23T10:17:00.000Z'],
    ]);
  });

  it('ingests FIRST EPSS scores from a gzip file and refuses a loopback URL that config does not allow', async () => {
    const gz = path.join(dir, 'epss_scores-2026-09-29.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(`${FIXTURES}epss/epss_scores-2026-09-29-head.csv`)));
    const first = await run('feeds', 'ingest', '--kind', 'epss', '--file', gz);
    expect(first).toEqual({ code: 0, out: `epss (epss) from ${gz}: 534 added, 0 updated, 0 unchanged, 0 failed\n`, err: '' });
    expect((await run('feeds', 'ingest', '--kind', 'epss', '--file', gz)).out).toContain('0 added, 0 updated, 534 unchanged');

    writeConfig('timezone: Europe/Berlin\n');
    const refused = await run('feeds', 'ingest', '--kind', 'rss', '--url', `${server.url}/file/usn.rss`);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      'patchdeck: [PD_FEED_BLOCKED_ADDRESS] refusing to fetch from 127.0.0.1: 127.0.0.1 is loopback. If this feed really is on an internal host, add it to config fetch.allowHosts\n',
    );
    const hex = await run('feeds', 'ingest', '--kind', 'rss', '--url', 'http://0x7f.1/feed');
    expect(hex.err).toContain('it is written in an unusual IPv4 form in "http://0x7f.1/feed"; write the address as 127.0.0.1');
  });

  it('says so when no feed is configured or has run', async () => {
    expect(await run('feeds', 'poll')).toEqual({ code: 0, out: 'no feeds configured (config feeds)\n', err: '' });
    expect((await run('feeds', 'status')).out).toBe('no feeds configured (config feeds) and none ingested yet\n');
    expect((await run('advisories', 'list')).out).toBe('no advisories\n');
  });

  it('describes every command and option in --help', async () => {
    const c = capture();
    const program = buildProgram({ io: c.io, setExitCode: () => undefined, openContext: () => Promise.reject(new Error('not needed')) });
    const ours = program.commands.filter((cmd) => cmd.name() === 'feeds' || cmd.name() === 'advisories');
    expect(ours.map((cmd) => cmd.name())).toEqual(['feeds', 'advisories']);
    for (const group of ours) {
      expect(group.description()).not.toBe('');
      for (const command of group.commands) {
        expect(command.description(), command.name()).not.toBe('');
        for (const option of command.options) expect(option.description, `${command.name()} ${option.flags}`).not.toBe('');
      }
    }
    const help = await run('feeds', 'ingest', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('within the config fetch limits');
  });
});
