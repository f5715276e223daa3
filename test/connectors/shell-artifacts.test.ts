import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createShellConnector, safeArtifactArgument, type ShellSettings } from '../../src/connectors/shell.js';
import type { ConnectorArtifact, ConnectorTarget } from '../../src/connectors/types.js';
import { sshdUnavailableReason, startSshd, type TestSshd } from '../helpers/sshd.js';

const sha256 = (body: Buffer | string) => createHash('sha256').update(body).digest('hex');
const DEB = Buffer.from('!<arch>\ndebian-binary   libssl3 payload\n');
const DEB_FILE = 'libssl3_3.0.2-0ubuntu1.18_amd64.deb';

let dir: string;
let log: string;
let recorder: string;

/** Records its argv; with `check`, also the sha256 of the file named by its first argument, as an installer would read it. */
const RECORDER = `
import { appendFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
const [log, mode, ...args] = process.argv.slice(2);
const entry = { args };
if (mode === 'check') entry.sha256 = createHash('sha256').update(readFileSync(args[0])).digest('hex');
appendFileSync(log, JSON.stringify(entry) + '\\n');
`;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-shell-artifacts-'));
  log = path.join(dir, 'argv.log');
  recorder = path.join(dir, 'recorder.mjs');
  writeFileSync(recorder, RECORDER);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function calls(): { args: string[]; sha256?: string }[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { args: string[]; sha256?: string });
}

/** A cached artifact in `dir`, stored the way the cache stores it (named by its hash). */
function cached(body: Buffer, fileName = DEB_FILE, pkg = 'libssl3'): ConnectorArtifact {
  const hash = sha256(body);
  const file = path.join(dir, 'sha256', hash.slice(0, 2), hash);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, body);
  return { package: pkg, path: file, sha256: hash, size: body.length, fileName, url: `http://mirror.test/pool/${fileName}` };
}

function target(hostName: string, artifacts: ConnectorArtifact[], packages = ['libssl3']): ConnectorTarget {
  return {
    rolloutId: 7,
    hostName,
    packages: packages.map((name) => ({ ecosystem: 'Ubuntu:22.04:LTS', name, installed: '1', fixed: '2' })),
    artifacts,
  };
}

function shell(install: string[], extra: Partial<ShellSettings> = {}) {
  return createShellConnector({ install: [process.execPath, recorder, log, ...install], timeoutMs: 10_000, ...extra });
}

describe('shell connector artifact placeholders', () => {
  it('puts the cached path, sha256 and file name into single arguments, once per artifact, and reports what it used', async () => {
    const deb = cached(DEB);
    const second = cached(Buffer.from('second file'), 'libssl-doc_3.0.2_all.deb');
    const connector = shell(['check', '{artifact}', '--sha256={artifactSha256}', '{artifactName}', '{package}={version}', '{host}']);
    const result = await connector.install(target('web-01', [deb, second]));
    expect(result).toEqual({
      ok: true,
      detail: expect.any(String),
      rebootRequired: false,
      artifacts: [
        { package: 'libssl3', fileName: DEB_FILE, sha256: sha256(DEB) },
        { package: 'libssl3', fileName: 'libssl-doc_3.0.2_all.deb', sha256: second.sha256 },
      ],
    });
    expect(calls()).toEqual([
      { args: [deb.path, `--sha256=${sha256(DEB)}`, DEB_FILE, 'libssl3=2', 'web-01'], sha256: sha256(DEB) },
      { args: [second.path, `--sha256=${second.sha256}`, 'libssl-doc_3.0.2_all.deb', 'libssl3=2', 'web-01'], sha256: second.sha256 },
    ]);
  });

  it('refuses a package without a cached artifact when the command names {artifact}, before running anything', async () => {
    const connector = shell(['ok', '{artifact}']);
    await expect(connector.install(target('web-01', [cached(DEB)], ['libssl3', 'curl']))).rejects.toMatchObject({
      code: 'PD_ARTIFACT_MISSING',
      message: expect.stringContaining('no verified offline artifact for curl on web-01'),
    });
    expect(calls()).toEqual([]);
  });

  it('under deploy.requireOfflineArtifacts refuses a package without one even when the command does not name it', async () => {
    const connector = shell(['ok', '{package}'], { requireOfflineArtifacts: true });
    await expect(connector.install(target('web-01', [], ['curl']))).rejects.toMatchObject({ code: 'PD_ARTIFACT_MISSING' });
    expect(calls()).toEqual([]);
    expect((await shell(['ok', '{package}']).install(target('web-01', [], ['curl']))).ok).toBe(true);
  });

  it('prefixes a path that would read as an option and refuses one a remote shell would interpret', async () => {
    expect(safeArtifactArgument('-oProxyCommand=x')).toBe('./-oProxyCommand=x');
    expect(safeArtifactArgument('/var/cache/patchdeck/sha256/ab/ab12')).toBe('/var/cache/patchdeck/sha256/ab/ab12');
    for (const bad of ['/tmp/a b', '/tmp/$(touch x)', '/tmp/a;b', "/tmp/a'b", '/tmp/a\nb', '']) {
      expect(() => safeArtifactArgument(bad)).toThrow(expect.objectContaining({ code: 'PD_CONNECTOR_UNSAFE_ARG' }));
    }
    const optionLike = { ...cached(DEB), path: '-oProxyCommand=touch' };
    await shell(['ok', '{artifact}']).install(target('web-01', [optionLike]));
    expect(calls()).toEqual([{ args: ['./-oProxyCommand=touch'] }]);
    const marker = path.join(dir, 'pwned');
    const shellish = { ...cached(DEB), path: `/tmp/x$(touch ${marker})` };
    await expect(shell(['ok', '{artifact}']).install(target('web-01', [shellish]))).rejects.toMatchObject({ code: 'PD_CONNECTOR_UNSAFE_ARG' });
    expect(existsSync(marker)).toBe(false);
  });
});

const sshdReason = sshdUnavailableReason();

// Needs a real OpenSSH server on loopback (root and /usr/sbin/sshd); skipped with the reason otherwise.
describe.skipIf(sshdReason !== null)(`shell connector copying artifacts over SFTP${sshdReason ? ` (skipped: ${sshdReason})` : ''}`, () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 20_000);
  afterAll(async () => {
    await sshd?.stop();
  });

  const sshSettings = (knownHosts: string, remoteDir: string) => ({
    user: sshd.user,
    port: sshd.port,
    identityFile: sshd.clientKey,
    knownHostsFile: knownHosts,
    remoteDir,
    readyTimeoutMs: 10_000,
  });

  it('copies the file to the host, checks it there, and runs the install on the remote path', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const remoteDir = path.join(dir, 'remote', 'patchdeck');
    const deb = cached(DEB);
    // The "host" is this machine, so the recorder reads the copy sshd wrote.
    const connector = shell(['check', '{artifact}', '{artifactSha256}'], { ssh: sshSettings(knownHosts, remoteDir) });
    const result = await connector.install(target('127.0.0.1', [deb]));
    expect(result.ok).toBe(true);
    const remote = `${remoteDir}/${DEB_FILE}`;
    expect(calls()).toEqual([{ args: [remote, sha256(DEB)], sha256: sha256(DEB) }]);
    expect(readFileSync(remote)).toEqual(DEB);
    // No temporary copy is left behind.
    expect(readdirSync(remoteDir)).toEqual([DEB_FILE]);

    // Deploying again replaces the copy in place.
    await connector.install(target('127.0.0.1', [deb]));
    expect(readdirSync(remoteDir)).toEqual([DEB_FILE]);
  }, 30_000);

  it('refuses a copy whose size or hash is not the recorded one, and leaves nothing on the host', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, `${sshd.knownHostsLine}\n`);
    const remoteDir = path.join(dir, 'remote2');
    const deb = cached(DEB);
    writeFileSync(deb.path, Buffer.from(DEB.toString().replace('payload', 'PAYLOAD')));
    const connector = shell(['check', '{artifact}'], { ssh: sshSettings(knownHosts, remoteDir) });
    await expect(connector.install(target('127.0.0.1', [deb]))).rejects.toMatchObject({ code: 'PD_ARTIFACT_UPLOAD', message: expect.stringContaining(`expected ${DEB.length} bytes with sha256 ${sha256(DEB)}`) });
    expect(calls()).toEqual([]);
    expect(readdirSync(remoteDir)).toEqual([]);
  }, 30_000);

  it('never copies to a host whose key is not in known_hosts (no trust on first use)', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    writeFileSync(knownHosts, '');
    const connector = shell(['check', '{artifact}'], { ssh: sshSettings(knownHosts, path.join(dir, 'remote3')) });
    await expect(connector.install(target('127.0.0.1', [cached(DEB)]))).rejects.toMatchObject({ code: 'PD_CONNECTOR_HOST_KEY' });
    const otherKey = `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`;
    writeFileSync(knownHosts, `${otherKey}\n`);
    await expect(connector.install(target('127.0.0.1', [cached(DEB)]))).rejects.toMatchObject({ code: 'PD_CONNECTOR_HOST_KEY', message: expect.stringContaining('is not the one in') });
    expect(calls()).toEqual([]);
    expect(existsSync(path.join(dir, 'remote3'))).toBe(false);
  }, 30_000);
});
