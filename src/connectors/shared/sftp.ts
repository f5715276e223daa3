import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Client, type ConnectConfig, type SFTPWrapper, type Stats } from 'ssh2';
import { PatchdeckError } from '../../core/errors.js';
// The scanner's known_hosts reading is reused, so both SSH paths trust hosts by the same rules.
import { knownHostKeys, knownHostsName } from '../../inventory/ssh-scan.js';

/** Where and as whom cached artifacts are copied before the shell connector's install runs. */
export interface SftpSettings {
  user: string;
  port: number;
  identityFile: string;
  knownHostsFile: string;
  /** Absolute directory on the host; created (mode 0700) when absent. */
  remoteDir: string;
  readyTimeoutMs: number;
}

export interface UploadItem {
  path: string;
  sha256: string;
  size: number;
  fileName: string;
}

function refuse(code: string, message: string): PatchdeckError {
  return new PatchdeckError(code, message, { status: 422 });
}

function connect(settings: SftpSettings, host: string): Promise<Client> {
  const name = knownHostsName({ host, port: settings.port });
  const knownText = existsSync(settings.knownHostsFile) ? readFileSync(settings.knownHostsFile, 'utf8') : '';
  const known = knownHostKeys(knownText, name);
  if (known.accepted.length === 0) {
    // Deployment never trusts on first use: copying a patch to an unverified host could hand it to anyone.
    throw refuse('PD_CONNECTOR_HOST_KEY', `${settings.knownHostsFile} has no key for ${name}; add it (ssh-keyscan, checked out of band) before deploying to it`);
  }
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(settings.identityFile);
  } catch (error) {
    throw refuse('PD_CONNECTOR_AUTH', `cannot read connectors.shell.ssh.identityFile ${settings.identityFile}: ${(error as Error).message}`);
  }
  let refusal: PatchdeckError | null = null;
  const client = new Client();
  const config: ConnectConfig = {
    host,
    port: settings.port,
    username: settings.user,
    privateKey,
    readyTimeout: settings.readyTimeoutMs,
    hostVerifier: (key: Buffer) => {
      const offered = key.toString('base64');
      if (!known.revoked.includes(offered) && known.accepted.includes(offered)) return true;
      refusal = refuse('PD_CONNECTOR_HOST_KEY', `the host key of ${name} is not the one in ${settings.knownHostsFile} (or is @revoked); refusing to copy artifacts to it`);
      return false;
    },
  };
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client));
    client.once('error', (error) => reject(refusal ?? refuse('PD_CONNECTOR_SSH', `cannot connect to ${settings.user}@${name} to copy artifacts: ${error.message}`)));
    try {
      client.connect(config);
    } catch (error) {
      reject(refuse('PD_CONNECTOR_AUTH', `cannot use connectors.shell.ssh.identityFile: ${(error as Error).message}`));
    }
  });
}

const call = <T>(fn: (cb: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));

async function ensureDir(sftp: SFTPWrapper, dir: string): Promise<void> {
  let path = '';
  for (const part of dir.split('/').filter(Boolean)) {
    path += `/${part}`;
    try {
      const stats = await call<Stats>((cb) => sftp.stat(path, cb));
      if (!stats.isDirectory()) throw refuse('PD_CONNECTOR_SSH', `${path} on the host is not a directory; fix connectors.shell.ssh.remoteDir`);
    } catch (error) {
      if (error instanceof PatchdeckError) throw error;
      await call((cb) => sftp.mkdir(path, { mode: 0o700 }, cb));
    }
  }
}

async function remoteHash(sftp: SFTPWrapper, path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of sftp.createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Copies each artifact to `<remoteDir>/<fileName>` on the host over SFTP and answers sha256 → remote path.
 * Each file is written under a temporary name, checked there (size by stat, sha256 by reading it back),
 * and only then renamed into place, so an install never sees a partial or altered copy.
 */
export async function uploadArtifacts(settings: SftpSettings, host: string, items: readonly UploadItem[]): Promise<Map<string, string>> {
  const placed = new Map<string, string>();
  if (items.length === 0) return placed;
  const client = await connect(settings, host);
  try {
    let sftp: SFTPWrapper;
    try {
      sftp = await call<SFTPWrapper>((cb) => client.sftp(cb));
      await ensureDir(sftp, settings.remoteDir);
    } catch (error) {
      if (error instanceof PatchdeckError) throw error;
      throw refuse('PD_CONNECTOR_SSH', `cannot copy artifacts to ${host}:${settings.remoteDir}: ${(error as Error).message} (the host's sshd needs the sftp subsystem)`);
    }
    for (const item of items) {
      if (placed.has(item.sha256)) continue;
      const remote = `${settings.remoteDir.replace(/\/+$/, '')}/${item.fileName}`;
      const part = `${remote}.${randomUUID()}.part`;
      try {
        await call((cb) => sftp.fastPut(item.path, part, { mode: 0o600 }, cb));
        const size = (await call<Stats>((cb) => sftp.stat(part, cb))).size;
        const sha256 = size === item.size ? await remoteHash(sftp, part) : null;
        if (size !== item.size || sha256 !== item.sha256) {
          throw new PatchdeckError(
            'PD_ARTIFACT_UPLOAD',
            `the copy of ${item.fileName} on ${host} is ${size} bytes${sha256 ? ` with sha256 ${sha256}` : ''}, expected ${item.size} bytes with sha256 ${item.sha256}; not installed`,
            { details: { host, fileName: item.fileName, size, sha256 } },
          );
        }
        await call((cb) => sftp.unlink(remote, cb)).catch(() => undefined);
        await call((cb) => sftp.rename(part, remote, cb));
      } catch (error) {
        await call((cb) => sftp.unlink(part, cb)).catch(() => undefined);
        if (error instanceof PatchdeckError) throw error;
        throw refuse('PD_CONNECTOR_SSH', `cannot copy ${item.fileName} to ${host}:${remote}: ${(error as Error).message}`);
      }
      placed.set(item.sha256, remote);
    }
    return placed;
  } finally {
    client.end();
  }
}
