import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { Client, type ConnectConfig } from 'ssh2';
import { PatchdeckError } from '../core/errors.js';
import type { HostInput, HostPackage } from '../core/types.js';
import { osEcosystem, packageFamily } from './shared/os.js';
import { HOST_NAME_PATTERN, validateHost, type InventoryScanner } from './types.js';

/**
 * The fixed commands a scan runs; nothing from the command line or the remote side is ever put into
 * them. dpkg's abbreviated status tells installed packages (`ii`) from removed ones that kept config.
 */
export const SCAN_COMMANDS = {
  osRelease: 'cat /etc/os-release',
  dpkg: "dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\n'",
  rpm: "rpm -qa --qf '%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\n'",
} as const;

/** Stops a misbehaving server from filling memory: a large host lists ~5,000 packages (~300 KB). */
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const COMMAND_TIMEOUT_MS = 120_000;

export interface SshTarget {
  user: string;
  host: string;
  port: number;
}

/** POSIX-ish login names; never a leading `-`. */
const USER_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** `user@host[:port]`; host a DNS name or an IPv4 address, or `[IPv6]`. */
export function parseSshTarget(text: string): SshTarget {
  const match = /^([^@\s]+)@(\[[^\]]+\]|[^:\s]+)(?::(\d+))?$/.exec(text.trim());
  if (!match) throw new PatchdeckError('PD_SCAN_TARGET', `"${text}" is not user@host[:port]`);
  const [, user, rawHost, rawPort] = match as unknown as [string, string, string, string | undefined];
  if (!USER_PATTERN.test(user)) throw new PatchdeckError('PD_SCAN_TARGET', `user "${user}" must be letters, digits, "_", "." and "-", not starting with "-"`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const validHost = rawHost.startsWith('[') ? isIP(host) === 6 : isIP(host) === 4 || HOST_NAME_PATTERN.test(host);
  if (!validHost) throw new PatchdeckError('PD_SCAN_TARGET', `host "${host}" must be a host name or an IP address, not starting with "-"`);
  const port = rawPort === undefined ? 22 : Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PatchdeckError('PD_SCAN_TARGET', `port ${rawPort} must be from 1 to 65535`);
  return { user, host, port };
}

/** `/etc/os-release` as key → value, quotes removed. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    fields[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2').replace(/\\(["$`\\])/g, '$1');
  }
  return fields;
}

/** `ii \tbash\t5.2.15-2+b7` (dpkg) or `bash\t0:5.1.8-6.el9` (rpm) lines → packages of one ecosystem. */
export function parsePackageList(text: string, family: 'deb' | 'rpm', ecosystem: string): HostPackage[] {
  const packages: HostPackage[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    if (family === 'deb') {
      if (fields.length !== 3 || !fields[0]!.startsWith('ii')) continue;
      packages.push({ ecosystem, name: fields[1]!.trim(), version: fields[2]!.trim() });
    } else {
      // gpg-pubkey entries are keys, not software.
      if (fields.length !== 2 || fields[0] === 'gpg-pubkey') continue;
      packages.push({ ecosystem, name: fields[0]!.trim(), version: fields[1]!.trim() });
    }
  }
  return packages;
}

/** The name a known_hosts line uses for a target: `host`, or `[host]:port` off port 22. */
export function knownHostsName(target: Pick<SshTarget, 'host' | 'port'>): string {
  return target.port === 22 ? target.host : `[${target.host}]:${target.port}`;
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    // Hashed entry: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern.split(',').some((p) => p === name);
}

/** Keys a known_hosts file lists for a name: the accepted ones and the `@revoked` ones. */
export function knownHostKeys(text: string, name: string): { accepted: string[]; revoked: string[] } {
  const accepted: string[] = [];
  const revoked: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | null = null;
    if (fields[0]!.startsWith('@')) marker = fields.shift()!;
    const [patterns, , key] = fields;
    if (patterns === undefined || key === undefined || !nameMatches(patterns, name)) continue;
    if (marker === '@revoked') revoked.push(key);
    else if (marker === null) accepted.push(key);
  }
  return { accepted, revoked };
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`). */
function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('latin1');
}

export interface SshScanOptions {
  /** Private key file contents (OpenSSH or PEM), or absent to use the agent at `agentSocket`. */
  privateKey?: Buffer;
  agentSocket?: string;
  knownHostsFile: string;
  /** Trust on first use: a host with no known_hosts entry is accepted and its key appended to the file. */
  acceptNew: boolean;
  /** Host name to record; default the target's host. */
  name?: string;
  readyTimeoutMs?: number;
}

/** What a scan found on one machine. */
export interface ScannedHost {
  host: HostInput;
  /** `accepted-new` when the key was just added to known_hosts (TOFU). */
  hostKey: 'known' | 'accepted-new';
}

/** Runs one fixed command and returns its standard output; a non-zero exit is an error with its stderr. */
function run(client: Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, stream) => {
      if (error) return reject(error);
      const out: Buffer[] = [];
      let size = 0;
      let stderr = '';
      const timer = setTimeout(() => {
        stream.close();
        reject(new PatchdeckError('PD_SCAN_COMMAND', `"${command}" did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`));
      }, COMMAND_TIMEOUT_MS);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT_BYTES) {
          stream.close();
          return;
        }
        out.push(chunk);
      });
      stream.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 2000) stderr += chunk.toString('utf8');
      });
      stream.on('close', (code: number | null) => {
        clearTimeout(timer);
        if (size > MAX_OUTPUT_BYTES) return reject(new PatchdeckError('PD_SCAN_COMMAND', `"${command}" printed more than ${MAX_OUTPUT_BYTES} bytes`));
        if (code !== 0) return reject(new PatchdeckError('PD_SCAN_COMMAND', `"${command}" exited with ${code}: ${stderr.trim() || 'no message'}`));
        resolve(Buffer.concat(out).toString('utf8'));
      });
    });
  });
}

/**
 * Agentless inventory: connects with ssh2, checks the host key against known_hosts (or, with
 * `acceptNew` only, trusts a host seen for the first time), reads `/etc/os-release` and the dpkg or
 * rpm package list, and returns the host. A changed or revoked key is always refused.
 */
async function scan(target: SshTarget, options: SshScanOptions): Promise<ScannedHost> {
  const name = knownHostsName(target);
  const knownText = existsSync(options.knownHostsFile) ? readFileSync(options.knownHostsFile, 'utf8') : '';
  const known = knownHostKeys(knownText, name);
  if (known.accepted.length === 0 && !options.acceptNew) {
    throw new PatchdeckError(
      'PD_SCAN_HOST_KEY',
      `${options.knownHostsFile} has no key for ${name}; add it (ssh-keyscan, checked out of band) or pass --accept-new to trust it on first use`,
    );
  }
  if (options.privateKey === undefined && options.agentSocket === undefined) {
    throw new PatchdeckError('PD_SCAN_AUTH', 'no key to log in with: pass --identity FILE or run an ssh-agent (SSH_AUTH_SOCK)');
  }
  let hostKey: ScannedHost['hostKey'] = 'known';
  let refusal: PatchdeckError | null = null;
  const verify = (key: Buffer): boolean => {
    const offered = key.toString('base64');
    if (known.revoked.includes(offered)) {
      refusal = new PatchdeckError('PD_SCAN_HOST_KEY', `the host key of ${name} is marked @revoked in ${options.knownHostsFile}; refusing to connect`);
      return false;
    }
    if (known.accepted.length > 0) {
      if (known.accepted.includes(offered)) return true;
      refusal = new PatchdeckError(
        'PD_SCAN_HOST_KEY',
        `the host key of ${name} differs from the one in ${options.knownHostsFile} (someone may be intercepting, or the host was reinstalled); refusing to connect`,
      );
      return false;
    }
    appendFileSync(options.knownHostsFile, `${knownText === '' || knownText.endsWith('\n') ? '' : '\n'}${name} ${keyType(key)} ${offered}\n`, { mode: 0o600 });
    hostKey = 'accepted-new';
    return true;
  };

  const client = new Client();
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    hostVerifier: verify,
    readyTimeout: options.readyTimeoutMs ?? 20_000,
    ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : { agent: options.agentSocket! }),
  };
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (error) => {
      reject(refusal ?? new PatchdeckError('PD_SCAN_CONNECT', `cannot scan ${target.user}@${name}: ${error.message}`));
    });
    try {
      client.connect(config);
    } catch (error) {
      // ssh2 throws synchronously for a key it cannot read (wrong format, passphrase needed).
      reject(new PatchdeckError('PD_SCAN_AUTH', `cannot use the identity file: ${(error as Error).message}`));
    }
  });
  try {
    const osRelease = parseOsRelease(await run(client, SCAN_COMMANDS.osRelease));
    const ecosystem = osEcosystem(osRelease.ID ?? '', osRelease.VERSION_ID ?? '');
    if (ecosystem === null) {
      throw new PatchdeckError('PD_SCAN_OS', `${target.host} runs ${osRelease.PRETTY_NAME ?? osRelease.ID ?? 'an unknown system'}, which no advisory feed covers; not imported`);
    }
    const family = packageFamily(ecosystem);
    const packages = parsePackageList(await run(client, family === 'deb' ? SCAN_COMMANDS.dpkg : SCAN_COMMANDS.rpm), family, ecosystem);
    const checked = validateHost({ name: options.name ?? target.host, os: ecosystem, role: 'server', criticality: 'medium', packages });
    if ('faults' in checked) {
      const fault = checked.faults[0]!;
      throw new PatchdeckError('PD_SCAN_OUTPUT', `${target.host}: ${fault.field}: ${fault.message}; not imported`);
    }
    return { host: checked.host, hostKey };
  } finally {
    client.end();
  }
}

export const sshScanner: InventoryScanner & { scan: typeof scan } = {
  name: 'ssh-scan',
  description: 'agentless scan over SSH: /etc/os-release and the dpkg or rpm package list',
  scan,
};
