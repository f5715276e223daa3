import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/store/audit.js';
import { getHostDetail, listHosts } from '../../src/store/queries/hosts.js';
import { importHosts, scanHosts } from '../../src/workflow/inventory.js';
import { createTestContext } from '../helpers/context.js';
import { sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';
import { describeEachStore } from '../helpers/stores.js';

const reason = sshdUnavailableReason();
if (reason !== null) console.warn(`[patchdeck tests] skipping ssh-scan against a real sshd: ${reason}`);

/** The machine's own packages, read the way an administrator would, to compare with what the scan found. */
function localDpkgVersion(name: string): string {
  return execFileSync('dpkg-query', ['-W', '-f=${Version}', name]).toString();
}

(reason === null ? describe : describe.skip)('ssh-scan against a real sshd on 127.0.0.1', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  describeEachStore('scanHosts', (s) => {
    const target = () => ({ user: sshd.user, host: '127.0.0.1', port: sshd.port });
    const knownHosts = (name: string, text: string) => {
      const file = path.join(sshd.dir, `${name}-${s.dialect}`);
      writeFileSync(file, text);
      return file;
    };

    it('imports this machine over SSH as an unmanaged host with its real dpkg packages, when the host key is known', async () => {
      const { ctx } = createTestContext(s.store);
      const result = await scanHosts(ctx, {
        targets: [target()],
        options: { privateKey: readFileSync(sshd.clientKey), knownHostsFile: knownHosts('known', `${sshd.knownHostsLine}\n`), acceptNew: false },
        name: 'self-01',
        actor: 'cli:alice',
      });
      expect(result.failed).toEqual([]);
      expect(result).toMatchObject({ created: 1, updated: 0, acceptedKeys: [], unmanaged: ['self-01'] });
      const host = await getHostDetail(s.store.db, 'self-01');
      expect(host).toMatchObject({ os: 'Debian:12', status: 'unmanaged', source: 'ssh-scan:cli:alice' });
      expect(host!.packages).toContainEqual({ ecosystem: 'Debian:12', name: 'dpkg', version: localDpkgVersion('dpkg') });
      expect(host!.packages).toContainEqual({ ecosystem: 'Debian:12', name: 'bash', version: localDpkgVersion('bash') });
      expect(host!.packages.length).toBeGreaterThan(100);
      expect((await listAudit(s.store.db))[0]).toMatchObject({ action: 'inventory.scanned', actor: 'cli:alice' });
    }, 60_000);

    it('keeps a managed host managed and its role and criticality, replacing its packages with what the scan found', async () => {
      const { ctx } = createTestContext(s.store);
      await importHosts(ctx, {
        hosts: [{ name: 'self-01', os: 'Debian:12', role: 'database', criticality: 'critical', usage: 1, owner: 'dba', groups: ['db'], packages: [{ ecosystem: 'Debian:12', name: 'bash', version: '1.0-1' }] }],
        source: 'file:a.json',
        actor: 'cli:alice',
      });
      const result = await scanHosts(ctx, {
        targets: [target()],
        options: { privateKey: readFileSync(sshd.clientKey), knownHostsFile: knownHosts('known2', `${sshd.knownHostsLine}\n`), acceptNew: false },
        name: 'self-01',
        actor: 'cli:alice',
      });
      expect(result).toMatchObject({ created: 0, updated: 1, unmanaged: [] });
      const [listed] = await listHosts(s.store.db);
      expect(listed).toMatchObject({ name: 'self-01', status: 'managed', role: 'database', criticality: 'critical', owner: 'dba' });
      expect((await getHostDetail(s.store.db, 'self-01'))!.packages).toContainEqual({ ecosystem: 'Debian:12', name: 'bash', version: localDpkgVersion('bash') });
    }, 60_000);

    it('refuses an unknown host key without --accept-new, trusts it on first use with it, and refuses a changed key', async () => {
      const { ctx } = createTestContext(s.store);
      const file = knownHosts('tofu', '');
      const options = { privateKey: readFileSync(sshd.clientKey), knownHostsFile: file };
      const refused = await scanHosts(ctx, { targets: [target()], options: { ...options, acceptNew: false }, actor: 'cli:alice' });
      expect(refused.failed).toEqual([{ target: `root@127.0.0.1:${sshd.port}`, code: 'PD_SCAN_HOST_KEY', message: expect.stringContaining('--accept-new') }]);
      expect(await listHosts(s.store.db)).toEqual([]);

      const trusted = await scanHosts(ctx, { targets: [target()], options: { ...options, acceptNew: true }, actor: 'cli:alice' });
      expect(trusted).toMatchObject({ failed: [], created: 1, acceptedKeys: [`root@127.0.0.1:${sshd.port}`] });
      expect(readFileSync(file, 'utf8')).toBe(`${sshd.knownHostsLine}\n`);

      const otherKey = 'AAAAC3NzaC1lZDI1NTE5AAAAIP3x2+0r6Jq9sK0gAkq3XW4n0oXJ3m3zB8f0B5cR2nQe';
      writeFileSync(file, `[127.0.0.1]:${sshd.port} ssh-ed25519 ${otherKey}\n`);
      const changed = await scanHosts(ctx, { targets: [target()], options: { ...options, acceptNew: true }, actor: 'cli:alice' });
      expect(changed.failed).toEqual([{ target: `root@127.0.0.1:${sshd.port}`, code: 'PD_SCAN_HOST_KEY', message: expect.stringContaining('differs') }]);
      expect(readFileSync(file, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ssh-ed25519 ${otherKey}\n`);
    }, 60_000);

    it('reports a key the server does not accept as a failed target', async () => {
      const { ctx } = createTestContext(s.store);
      const stranger = path.join(sshd.dir, `stranger-${s.dialect}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
      const result = await scanHosts(ctx, {
        targets: [target()],
        options: { privateKey: readFileSync(stranger), knownHostsFile: knownHosts('known3', `${sshd.knownHostsLine}\n`), acceptNew: false },
        actor: 'cli:alice',
      });
      expect(result.failed).toEqual([{ target: `root@127.0.0.1:${sshd.port}`, code: 'PD_SCAN_CONNECT', message: expect.stringContaining('authentication') }]);
    }, 60_000);
  });
});
