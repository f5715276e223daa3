import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { fixedClock } from '../../src/core/clock.js';
import { insertAdvisory, osvFixture } from '../helpers/advisories.js';
import { describeEachStore } from '../helpers/stores.js';
import { runCliCaptured } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/inventory');

describeEachStore('CLI filters naming what does not exist, and names that look like options', (s) => {
  let configFile: string;

  beforeEach(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-cli-filters-'));
    configFile = path.join(dir, 'patchdeck.yaml');
    writeFileSync(configFile, ['timezone: UTC', 'policy: { alertThreshold: medium }', 'feeds:', '  - { name: ubuntu, kind: osv, url: "https://example.org/osv.zip", schedule: "17 * * * *" }', ''].join('\n'));
    await insertAdvisory(s.store.db, osvFixture('USN-4705-1.json'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
    return runCliCaptured(argv, { env: { DATABASE_URL: s.url, PATCHDECK_CONFIG: configFile, USER: 'carol', LOG_LEVEL: 'silent' }, cwd: FIXTURES, clock: fixedClock('2026-11-23T09:00:00.000Z'), stdin: stdin });
  }

  it('an unknown host, case or feed in a list filter exits 1 with its code, like show does', async () => {
    expect((await run(['inventory', 'import', 'hosts.json'])).code).toBe(0);
    expect((await run(['assess'])).code).toBe(0);
    // A known host with nothing open is an empty answer, exit 0.
    expect(await run(['exposures', 'list', '--host', 'web-01', '--severity', 'low', '--json'])).toMatchObject({ code: 0, out: '[]\n' });
    expect(await run(['exposures', 'list', '--host', 'web-1', '--json'])).toEqual({
      code: 1,
      out: '',
      err: 'patchdeck: [PD_HOST_NOT_FOUND] no host named "web-1"; see `patchdeck hosts list`\n',
    });
    expect((await run(['hosts', 'show', 'web-1'])).err).toBe('patchdeck: [PD_HOST_NOT_FOUND] no host named "web-1"; see `patchdeck hosts list`\n');

    expect(await run(['artifacts', 'list', '--case', '999'])).toEqual({ code: 1, out: '', err: 'patchdeck: [PD_CASE_NOT_FOUND] there is no case 999; see `patchdeck patches list`\n' });
    expect(await run(['artifacts', 'list', '--case', '1'])).toMatchObject({ code: 0, out: 'No artifacts stored for case 1; run `patchdeck patches fetch 1`.\n' });

    expect(await run(['feeds', 'quarantine', 'list', '--feed', 'ubuntu'])).toMatchObject({ code: 0, out: 'no quarantined documents for feed ubuntu\n' });
    const feed = await run(['feeds', 'quarantine', 'list', '--feed', 'ubunt']);
    expect([feed.code, feed.err]).toEqual([1, 'patchdeck: [PD_FEED_UNKNOWN] no feed named "ubunt" is configured or was ever ingested (known: ubuntu); see `patchdeck feeds status`\n']);

    const source = await run(['advisories', 'list', '--source', 'nvd']);
    expect([source.code, source.err]).toEqual([2, expect.stringMatching(/^patchdeck: \[PD_USAGE\] option '--source <source>' argument 'nvd' is invalid\. Allowed choices are kev, osv, rss, /)]);
  });

  it('a host name that looks like an option is read as a name after "--", and refused as an option before it', async () => {
    for (const name of ['-rf', '--help']) {
      const shown = await run(['hosts', 'show', '--', name]);
      expect([shown.code, shown.out, shown.err]).toEqual([1, '', `patchdeck: [PD_HOST_NOT_FOUND] no host named "${name}"; see \`patchdeck hosts list\`\n`]);
      expect((await run(['exposures', 'list', '--host', name])).err).toContain(`[PD_HOST_NOT_FOUND] no host named "${name}"`);
    }
    expect(await run(['hosts', 'show', '-rf'])).toMatchObject({ code: 2, err: expect.stringMatching(/^patchdeck: \[PD_USAGE\] unknown option '-rf'\nTry 'patchdeck hosts show --help'/) });
    const foreign = await run(['hosts', 'add-foreign', '--owner', 'acme', '--', '-rf']);
    expect([foreign.code, foreign.err]).toEqual([1, 'patchdeck: [PD_INVENTORY_HOST_NAME] host name "-rf" must be letters, digits, "-", "_" and dots, not starting with "-"\n']);
  });

  it('an inventory row whose host name starts with "-" is refused on its own line; the other hosts are imported', async () => {
    const csv = [
      'host,os,role,criticality,ecosystem,package,version',
      'db-01,Debian:12,server,high,Debian:12,openssl,3.0.11-1~deb12u2',
      '-rf,Debian:12,server,low,Debian:12,openssl,3.0.11-1~deb12u2',
      '--help,Debian:12,server,low,Debian:12,openssl,3.0.11-1~deb12u2',
      '',
    ].join('\n');
    const fromCsv = await run(['inventory', 'import', '-', '--format', 'csv'], csv);
    expect(fromCsv.code).toBe(1);
    expect(fromCsv.out).toBe('Imported from stdin: 1 hosts created, 0 updated, 1 packages.\n');
    expect(fromCsv.err).toContain('  line 3 (-rf) host: host name must be letters, digits, "-", "_" and dots, not starting with "-" (it is used as an ssh argument)\n');
    expect(fromCsv.err).toContain('  line 4 (--help) host: host name must be letters');

    const json = JSON.stringify({ hosts: [{ name: '-oProxyCommand=x', os: 'Debian:12', role: 'server', criticality: 'low', packages: [] }] });
    const fromJson = await run(['inventory', 'import', '-', '--format', 'json', '--json'], json);
    expect(fromJson.code).toBe(1);
    expect(JSON.parse(fromJson.out)).toMatchObject({ created: 0, rejected: [{ host: '-oProxyCommand=x', field: 'name', message: expect.stringContaining('not starting with "-"') }] });
    const names = (await s.store.db.selectFrom('hosts').select('name').execute()).map((h) => h.name);
    expect(names).toEqual(['db-01']);
  });
});
