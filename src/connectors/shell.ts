import { execFile } from 'node:child_process';
import { PatchdeckError } from '../core/errors.js';
import type { Connector, ConnectorPlugin, ConnectorTarget, HostPatchState, InstallResult, RebootResult } from './types.js';

/**
 * Runs the operator's own commands, e.g. `["ssh", "--", "{host}", "sudo", "apt-get", "install", "-y", "{package}={version}"]`.
 * Each template is an argv list run with execFile — never through a local shell — and placeholders are
 * replaced inside single arguments, so a name can never add or split arguments. Names that start with
 * `-` (read as options, e.g. `-oProxyCommand=…`) or hold whitespace or control characters are refused.
 *
 * A template that mentions `{package}` or `{version}` runs once per package, otherwise once per host.
 * The install reports "reboot required" (its output contains `reboot required`, as Ubuntu's
 * /var/run/reboot-required says) and a reboot template is set → the rollout reboots the host.
 */
export interface ShellSettings {
  install: string[];
  reboot?: string[] | undefined;
  timeoutMs: number;
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

/** Replaces `{host}`, `{package}`, `{version}` inside each argument; never splits or joins arguments. */
export function expandTemplate(template: readonly string[], values: { host: string; package?: string; version?: string }): string[] {
  return template.map((arg) =>
    arg.replace(/\{(host|package|version)\}/g, (_, name: 'host' | 'package' | 'version') => values[name] ?? ''),
  );
}

function usesPackage(template: readonly string[]): boolean {
  return template.some((arg) => arg.includes('{package}') || arg.includes('{version}'));
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

  /** The argv lists to run for `template` on `target`, after refusing unsafe names. */
  const commandsFor = (template: readonly string[], target: ConnectorTarget): string[][] => {
    checkSafeArgument('host', target.hostName);
    if (!usesPackage(template)) return [expandTemplate(template, { host: target.hostName })];
    return target.packages.map((p) => {
      checkSafeArgument('package', p.name);
      if (p.fixed === null && template.some((arg) => arg.includes('{version}'))) {
        throw new PatchdeckError('PD_CONNECTOR_NO_FIX', `no fixed version of ${p.name} is known, so the install command for ${target.hostName} cannot name one`, { status: 422 });
      }
      if (p.fixed !== null) checkSafeArgument('version', p.fixed);
      return expandTemplate(template, { host: target.hostName, package: p.name, version: p.fixed ?? '' });
    });
  };

  return {
    kind: 'shell',
    async install(target, signal): Promise<InstallResult> {
      const commands = commandsFor(settings.install, target);
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
      return { ok: true, detail: details.at(-1) ?? 'nothing to install', rebootRequired: rebootRequired && settings.reboot !== undefined };
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
    return createShellConnector(settings);
  },
};
