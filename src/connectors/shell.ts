import { execFile } from 'node:child_process';
import { PatchdeckError } from '../core/errors.js';
import { uploadArtifacts, type SftpSettings } from './shared/sftp.js';
import type { Connector, ConnectorArtifact, ConnectorPlugin, ConnectorTarget, HostPatchState, InstallResult, RebootResult } from './types.js';

/**
 * Runs the operator's own commands, e.g. `["ssh", "--", "{host}", "sudo", "apt-get", "install", "-y", "{package}={version}"]`.
 * Each template is an argv list run with execFile — never through a local shell — and placeholders are
 * replaced inside single arguments, so a name can never add or split arguments. Names that start with
 * `-` (read as options, e.g. `-oProxyCommand=…`) or hold whitespace or control characters are refused.
 *
 * A template that mentions `{package}` or `{version}` runs once per package, otherwise once per host.
 * One that mentions `{artifact}` (the cached file's path), `{artifactSha256}` or `{artifactName}` (its
 * file name) runs once per cached artifact of each package, and refuses a package that has none. With
 * `ssh` set, the artifacts are first copied to the host over SFTP and checked there, and `{artifact}`
 * is the path on the host. An artifact path that would read as an option gets a `./` prefix; one with
 * characters a remote shell would interpret is refused.
 *
 * The install reports "reboot required" (its output contains `reboot required`, as Ubuntu's
 * /var/run/reboot-required says) and a reboot template is set → the rollout reboots the host.
 */
export interface ShellSettings {
  install: string[];
  reboot?: string[] | undefined;
  timeoutMs: number;
  ssh?: SftpSettings | undefined;
  /** config deploy.requireOfflineArtifacts: a package without a cached artifact fails the host. */
  requireOfflineArtifacts?: boolean;
}

const UNSAFE = /[\s\p{Cc}]/u;
const REBOOT_REQUIRED = /reboot[ _-]required/i;
const TAIL_CHARS = 400;

export function checkSafeArgument(kind: 'host' | 'package' | 'version', value: string): void {
  if (value === '' || value.startsWith('-') || UNSAFE.test(value)) {
    throw new PatchdeckError(
      'PD_CONNECTOR_UNSAFE_ARG',
      `refusing to run a command with ${kind} name ${JSON.stringify(value)}: it is empty, starts with "-" or holds whitespace or control characters; fix the inventory or advisory data`,
      { status: 422, details: { kind, value } },
    );
  }
}

type TemplateValues = { host: string; package?: string; version?: string; artifact?: string; artifactSha256?: string; artifactName?: string };

/** Replaces `{host}`, `{package}`, `{version}`, `{artifact}`, `{artifactSha256}`, `{artifactName}` inside each argument; never splits or joins arguments. */
export function expandTemplate(template: readonly string[], values: TemplateValues): string[] {
  return template.map((arg) =>
    arg.replace(/\{(host|package|version|artifact|artifactSha256|artifactName)\}/g, (_, name: keyof TemplateValues) => values[name] ?? ''),
  );
}

function usesPackage(template: readonly string[]): boolean {
  return template.some((arg) => arg.includes('{package}') || arg.includes('{version}')) || usesArtifact(template);
}

function usesArtifact(template: readonly string[]): boolean {
  return template.some((arg) => /\{artifact(Sha256|Name)?\}/.test(arg));
}

/** Characters safe even where an argument ends up in a remote shell's command line (ssh joins its arguments). */
const SAFE_PATH = /^[A-Za-z0-9._+~\/:@=,-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** An artifact path as one safe argument: `./`-prefixed when it would read as an option, refused when a shell would interpret it. */
export function safeArtifactArgument(value: string): string {
  if (!SAFE_PATH.test(value)) {
    throw new PatchdeckError(
      'PD_CONNECTOR_UNSAFE_ARG',
      `refusing to run a command with artifact path ${JSON.stringify(value)}: only letters, digits and ._+~/:@=,- are allowed; use an artifacts.dir (or ssh.remoteDir) without spaces or shell characters`,
      { status: 422, details: { kind: 'artifact', value } },
    );
  }
  return value.startsWith('-') ? `./${value}` : value;
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > TAIL_CHARS ? `…${trimmed.slice(-TAIL_CHARS)}` : trimmed;
}

interface RunOutcome {
  ok: boolean;
  stdout: string;
  detail: string;
}

function run(argv: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<RunOutcome> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    execFile(
      file!,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, shell: false, windowsHide: true, ...(signal ? { signal } : {}) },
      (error, stdout, stderr) => {
        const out = String(stdout);
        if (!error) return resolve({ ok: true, stdout: out, detail: tail(out) || `${file} finished` });
        const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string | null };
        let why: string;
        if (failure.killed && failure.signal === 'SIGKILL' && !signal?.aborted) why = `timed out after ${timeoutMs} ms`;
        else if (signal?.aborted) why = 'cancelled';
        else if (typeof failure.code === 'number') why = `exit ${failure.code}`;
        else if (failure.code === 'ENOENT') why = `command not found: ${file}`;
        else why = failure.signal ? `killed by ${failure.signal}` : failure.message;
        const errTail = tail(String(stderr));
        resolve({ ok: false, stdout: out, detail: errTail ? `${why}: ${errTail}` : why });
      },
    );
  });
}

export function createShellConnector(settings: ShellSettings): Connector {
  const installed = new Map<string, boolean>();
  const key = (target: ConnectorTarget) => `${target.rolloutId}\u0000${target.hostName}`;

  /** The argv lists to run for `template` on `target`, after refusing unsafe names; `placed` maps sha256 → path on the host. */
  const commandsFor = (template: readonly string[], target: ConnectorTarget, placed?: ReadonlyMap<string, string>): string[][] => {
    checkSafeArgument('host', target.hostName);
    if (!usesPackage(template)) return [expandTemplate(template, { host: target.hostName })];
    const withArtifacts = usesArtifact(template);
    return target.packages.flatMap((p) => {
      checkSafeArgument('package', p.name);
      if (p.fixed === null && template.some((arg) => arg.includes('{version}'))) {
        throw new PatchdeckError('PD_CONNECTOR_NO_FIX', `no fixed version of ${p.name} is known, so the install command for ${target.hostName} cannot name one`, { status: 422 });
      }
      if (p.fixed !== null) checkSafeArgument('version', p.fixed);
      const values = { host: target.hostName, package: p.name, version: p.fixed ?? '' };
      if (!withArtifacts) return [expandTemplate(template, values)];
      return artifactsOf(target, p.name).map((a) => {
        if (!SHA256_HEX.test(a.sha256)) throw new PatchdeckError('PD_CONNECTOR_UNSAFE_ARG', `artifact ${a.fileName} has no valid sha256`, { status: 422 });
        const name = safeArtifactArgument(a.fileName);
        return expandTemplate(template, { ...values, artifact: safeArtifactArgument(placed?.get(a.sha256) ?? a.path), artifactSha256: a.sha256, artifactName: name });
      });
    });
  };

  /** The cached artifacts for one package; none is refused when a command or the policy needs one. */
  function artifactsOf(target: ConnectorTarget, pkg: string): ConnectorArtifact[] {
    const found = (target.artifacts ?? []).filter((a) => a.package === pkg);
    if (found.length === 0) {
      throw new PatchdeckError(
        'PD_ARTIFACT_MISSING',
        `no verified offline artifact for ${pkg} on ${target.hostName}, and the install command names {artifact}; fetch it with "patchdeck patches fetch" for the case`,
        { status: 422, details: { host: target.hostName, package: pkg } },
      );
    }
    return found;
  }

  const usedArtifacts = (target: ConnectorTarget, template: readonly string[]): ConnectorArtifact[] => {
    if (settings.requireOfflineArtifacts) for (const p of target.packages) artifactsOf(target, p.name);
    if (!usesArtifact(template)) return [];
    return target.packages.flatMap((p) => artifactsOf(target, p.name));
  };

  return {
    kind: 'shell',
    async install(target, signal): Promise<InstallResult> {
      checkSafeArgument('host', target.hostName);
      const artifacts = usedArtifacts(target, settings.install);
      const placed = settings.ssh && artifacts.length > 0 ? await uploadArtifacts(settings.ssh, target.hostName, artifacts) : undefined;
      const commands = commandsFor(settings.install, target, placed);
      let rebootRequired = false;
      const details: string[] = [];
      for (const argv of commands) {
        const outcome = await run(argv, settings.timeoutMs, signal);
        if (!outcome.ok) {
          installed.set(key(target), false);
          return { ok: false, detail: outcome.detail, rebootRequired: false };
        }
        if (REBOOT_REQUIRED.test(outcome.stdout)) rebootRequired = true;
        details.push(outcome.detail);
      }
      installed.set(key(target), true);
      const used = artifacts.map((a) => ({ package: a.package, fileName: a.fileName, sha256: a.sha256 }));
      return {
        ok: true,
        detail: details.at(-1) ?? 'nothing to install',
        rebootRequired: rebootRequired && settings.reboot !== undefined,
        ...(used.length > 0 ? { artifacts: used } : {}),
      };
    },
    async reboot(target, signal): Promise<RebootResult> {
      checkSafeArgument('host', target.hostName);
      if (settings.reboot === undefined) return { ok: true, detail: 'no reboot command configured' };
      for (const argv of commandsFor(settings.reboot, target)) {
        const outcome = await run(argv, settings.timeoutMs, signal);
        if (!outcome.ok) return { ok: false, detail: outcome.detail };
      }
      return { ok: true, detail: 'reboot command finished' };
    },
    async getState(target): Promise<HostPatchState> {
      const done = installed.get(key(target));
      if (done === undefined) return 'unknown';
      return done ? 'patched' : 'unpatched';
    },
  };
}

export const shellConnector: ConnectorPlugin = {
  kind: 'shell',
  description: 'Runs the argv templates in connectors.shell (install, reboot) per host, without a shell',
  create(deps) {
    const settings = deps.config.connectors.shell;
    if (settings === undefined) {
      throw new PatchdeckError('PD_CONNECTOR_NOT_CONFIGURED', 'rollout.connector is "shell" but connectors.shell.install is not set; add the install command as an argv list');
    }
    return createShellConnector({ ...settings, requireOfflineArtifacts: deps.config.deploy.requireOfflineArtifacts });
  },
};
