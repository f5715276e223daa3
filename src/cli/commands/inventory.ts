import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import { CRITICALITIES, type Criticality } from '../../core/types.js';
import { getInventoryFormat, inventoryFormatForFile, inventoryFormatNames, type InventoryReject } from '../../inventory/index.js';
import { parseSshTarget } from '../../inventory/ssh-scan.js';
import { listExposures } from '../../store/queries/exposures.js';
import { ATTESTATION_STATES, getHostDetail, HOST_STATES, hostStateAt, listHosts, type AttestationState, type HostState } from '../../store/queries/hosts.js';
import { addForeignHost, attestHost, importInventory, scanHosts } from '../../workflow/inventory.js';
import { EXIT_FAILURE, UsageError, withContext, writeJson, writeTable, type CliDeps } from '../io.js';
import { cliActor, exposureToJson, writeExposureTable } from './assess.js';

function describeReject(reject: InventoryReject): string {
  const host = reject.host === null ? '' : ` (${reject.host})`;
  return `${reject.location}${host} ${reject.field}: ${reject.message}`;
}

async function readInventoryText(deps: CliDeps, file: string): Promise<string> {
  if (file === '-') return deps.io.readStdin();
  const resolved = path.resolve(deps.io.cwd, file);
  try {
    return await readFile(resolved, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (error as Error).message})`;
    throw new PatchdeckError('PD_INVENTORY_FILE', `inventory file ${resolved} ${why}`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${option} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

/** `~/x` as the shell would expand it, relative paths from the working directory. */
function resolvePath(deps: CliDeps, file: string): string {
  const home = deps.io.env.HOME ?? homedir();
  return path.resolve(deps.io.cwd, file.startsWith('~/') ? path.join(home, file.slice(2)) : file);
}

export function registerInventoryCommands(program: Command, deps: CliDeps): void {
  const inventory = program.command('inventory').description('The host inventory: which hosts exist and what is installed on them');
  inventory
    .command('import <file>')
    .description(
      'Import hosts and their packages from a file ("-" reads standard input): json or csv inventories, osquery results, Windows hotfix lists. ' +
        'Re-importing a host replaces its package list (osquery and windows-kb replace only the ecosystems they report and keep role, criticality, owner and groups); ' +
        'hosts with a bad field are reported and left unchanged, the others are imported, and the exit code is then 1',
    )
    .option('-f, --format <format>', `file format, one of ${inventoryFormatNames().join(', ')}; default: from the file name extension (.json, .csv)`)
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { format?: string; json?: boolean }) => {
      let format: string;
      if (options.format !== undefined) {
        if (!inventoryFormatNames().includes(options.format.toLowerCase())) {
          throw new UsageError(`--format must be one of ${inventoryFormatNames().join(', ')} (got "${options.format}")`);
        }
        format = getInventoryFormat(options.format).name;
      } else {
        const guessed = file === '-' ? null : inventoryFormatForFile(file);
        if (guessed === null) throw new UsageError(`cannot tell the format of "${file}" from its name; pass --format ${inventoryFormatNames().join('|')}`);
        format = guessed.name;
      }
      const text = await readInventoryText(deps, file);
      const source = file === '-' ? 'stdin' : `file:${path.basename(file)}`;
      await withContext(deps, async (ctx) => {
        const result = await importInventory(ctx, { text, format, source, actor: cliActor(deps) });
        if (result.rejected.length > 0) deps.setExitCode(EXIT_FAILURE);
        if (options.json) {
          writeJson(deps.io, { source: result.source, format, created: result.created, updated: result.updated, packages: result.packages, rejected: result.rejected });
          return;
        }
        deps.io.stdout(`Imported from ${source}: ${result.created} hosts created, ${result.updated} updated, ${result.packages} packages.\n`);
        if (result.rejected.length > 0) {
          deps.io.stderr(`${result.rejected.length} problem${result.rejected.length === 1 ? '' : 's'}; these hosts were not imported:\n`);
          for (const reject of result.rejected) deps.io.stderr(`  ${describeReject(reject)}\n`);
        }
      });
    });

  inventory
    .command('scan')
    .description(
      'Scan machines over SSH without an agent: reads /etc/os-release and the dpkg or rpm package list and imports each host. ' +
        'A host no inventory source lists is recorded as unmanaged. The host key must be in known_hosts unless --accept-new is given; ' +
        'a changed key is always refused. Exit code 1 when any target failed',
    )
    .requiredOption('--ssh <user@host[:port]>', 'machine to scan; repeat for several', collect, [])
    .option('-i, --identity <file>', 'private key to log in with (no passphrase); default: the ssh-agent at SSH_AUTH_SOCK')
    .option('--known-hosts <file>', 'known_hosts file to check host keys against', '~/.ssh/known_hosts')
    .option('--accept-new', 'trust a host seen for the first time and add its key to the known_hosts file (trust on first use)')
    .option('--name <name>', 'host name to record (one --ssh only); default: the host as given in --ssh')
    .option('--json', 'print the result as JSON')
    .action(async (options: { ssh: string[]; identity?: string; knownHosts: string; acceptNew?: boolean; name?: string; json?: boolean }) => {
      if (options.ssh.length === 0) throw new UsageError('give at least one --ssh user@host[:port]');
      let targets;
      try {
        targets = options.ssh.map(parseSshTarget);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (options.name !== undefined && targets.length !== 1) throw new UsageError('--name needs exactly one --ssh target');
      let privateKey: Buffer | undefined;
      if (options.identity !== undefined) {
        const file = resolvePath(deps, options.identity);
        try {
          privateKey = await readFile(file);
        } catch (error) {
          throw new PatchdeckError('PD_SCAN_AUTH', `identity file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        }
      }
      const agentSocket = deps.io.env.SSH_AUTH_SOCK;
      await withContext(deps, async (ctx) => {
        const result = await scanHosts(ctx, {
          targets,
          options: {
            knownHostsFile: resolvePath(deps, options.knownHosts),
            acceptNew: options.acceptNew === true,
            ...(privateKey !== undefined ? { privateKey } : agentSocket !== undefined ? { agentSocket } : {}),
          },
          ...(options.name !== undefined ? { name: options.name } : {}),
          actor: cliActor(deps),
        });
        if (result.failed.length > 0) deps.setExitCode(EXIT_FAILURE);
        if (options.json) {
          writeJson(deps.io, {
            created: result.created,
            updated: result.updated,
            packages: result.packages,
            unmanaged: result.unmanaged,
            accepted_keys: result.acceptedKeys,
            failed: result.failed,
          });
          return;
        }
        deps.io.stdout(`Scanned ${targets.length - result.failed.length} of ${targets.length}: ${result.created} hosts created, ${result.updated} updated, ${result.packages} packages.\n`);
        for (const key of result.acceptedKeys) deps.io.stdout(`Trusted the host key of ${key} on first use; it is now in the known_hosts file.\n`);
        if (result.unmanaged.length > 0) deps.io.stdout(`Unmanaged (in no inventory source): ${result.unmanaged.join(', ')}\n`);
        for (const failure of result.failed) deps.io.stderr(`patchdeck: [${failure.code}] ${failure.target}: ${failure.message}\n`);
      });
    });

  const hosts = program.command('hosts').description('Hosts in the inventory and their exposures');

  hosts
    .command('list')
    .description(
      'List hosts with their status, package and open exposure counts. Status: managed (from an inventory source), unmanaged (seen only by a scan), ' +
        'foreign (contractor or guest device), stale (not seen for inventory.staleAfterDays)',
    )
    .option('--status <status>', `only hosts in this status: ${HOST_STATES.join(', ')}`)
    .option('--json', 'print as JSON')
    .action(async (options: { status?: string; json?: boolean }) => {
      const state = options.status === undefined ? undefined : oneOf<HostState>('--status', options.status, HOST_STATES);
      await withContext(deps, async (ctx) => {
        const list = await listHosts(ctx.store.db, {
          staleness: { now: ctx.clock.now(), staleAfterDays: ctx.config.inventory.staleAfterDays },
          ...(state !== undefined ? { state } : {}),
        });
        if (options.json) {
          writeJson(
            deps.io,
            list.map((h) => ({
              name: h.name,
              os: h.os,
              role: h.role,
              criticality: h.criticality,
              usage: h.usage,
              owner: h.owner,
              groups: h.groups,
              packages: h.packages,
              open_exposures: h.openExposures,
              last_seen_at: h.lastSeenAt,
              status: h.state,
              attestation: h.attestation,
            })),
          );
          return;
        }
        if (list.length === 0) {
          deps.io.stdout(state === undefined ? 'No hosts yet; import some with `patchdeck inventory import FILE`.\n' : `No ${state} hosts.\n`);
          return;
        }
        writeTable(
          deps.io,
          ['NAME', 'STATUS', 'OS', 'ROLE', 'CRITICALITY', 'PACKAGES', 'OPEN', 'LAST SEEN', 'GROUPS'],
          list.map((h) => [
            h.name,
            h.state === 'foreign' ? `foreign (${h.attestation ?? 'pending'})` : h.state,
            h.os || '-',
            h.role,
            h.criticality,
            h.packages,
            h.openExposures,
            formatInZone(h.lastSeenAt, ctx.config.timezone),
            h.groups.join(', '),
          ]),
        );
      });
    });

  hosts
    .command('add-foreign <name>')
    .description('Record a contractor or guest device: tracked by its owner and an attestation state instead of packages (audited)')
    .requiredOption('--owner <owner>', 'who answers for the device (a person or company)')
    .option('--attestation <state>', `attestation state: ${ATTESTATION_STATES.join(', ')}`, 'pending')
    .option('--role <role>', 'what the device is, e.g. laptop', 'laptop')
    .option('--criticality <level>', `how much harm it could do: ${CRITICALITIES.join(', ')}`, 'low')
    .option('--group <group>', 'group the device belongs to; repeat for several', collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { owner: string; attestation: string; role: string; criticality: string; group: string[]; json?: boolean }) => {
      const attestation = oneOf<AttestationState>('--attestation', options.attestation, ATTESTATION_STATES);
      const criticality = oneOf<Criticality>('--criticality', options.criticality.toLowerCase(), CRITICALITIES);
      await withContext(deps, async (ctx) => {
        const { id } = await addForeignHost(ctx, {
          name,
          owner: options.owner,
          attestation,
          role: options.role.toLowerCase(),
          criticality,
          groups: [...new Set(options.group)],
          actor: cliActor(deps),
        });
        if (options.json) writeJson(deps.io, { id, name, status: 'foreign', owner: options.owner.trim(), attestation });
        else deps.io.stdout(`Recorded foreign device ${name} (owner ${options.owner.trim()}, attestation ${attestation}).\n`);
      });
    });

  hosts
    .command('attest <name>')
    .description("Set a foreign device's attestation state, e.g. after its owner confirmed it is patched (audited)")
    .requiredOption('--state <state>', `new attestation state: ${ATTESTATION_STATES.join(', ')}`)
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { state: string; json?: boolean }) => {
      const state = oneOf<AttestationState>('--state', options.state, ATTESTATION_STATES);
      await withContext(deps, async (ctx) => {
        const { changed } = await attestHost(ctx, { name, state, actor: cliActor(deps) });
        if (options.json) writeJson(deps.io, { name, attestation: state, changed });
        else deps.io.stdout(changed ? `${name}: attestation is now ${state}.\n` : `${name}: attestation was already ${state}.\n`);
      });
    });

  hosts
    .command('show <name>')
    .description('Show one host: its attributes, installed packages and open exposures')
    .option('--json', 'print as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        const host = await getHostDetail(ctx.store.db, name);
        if (host === null) throw new PatchdeckError('PD_HOST_NOT_FOUND', `no host named "${name}"; see \`patchdeck hosts list\``, { status: 404 });
        const exposures = await listExposures(ctx.store.db, { host: name, status: 'open' });
        if (options.json) {
          writeJson(deps.io, {
            name: host.name,
            os: host.os,
            role: host.role,
            criticality: host.criticality,
            usage: host.usage,
            owner: host.owner,
            groups: host.groups,
            source: host.source,
            created_at: host.createdAt,
            updated_at: host.updatedAt,
            last_seen_at: host.lastSeenAt,
            status: hostStateAt(host, { now: ctx.clock.now(), staleAfterDays: ctx.config.inventory.staleAfterDays }),
            attestation: host.attestation,
            packages: host.packages,
            exposures: exposures.map(exposureToJson),
          });
          return;
        }
        const zone = ctx.config.timezone;
        deps.io.stdout(
          `${host.name}: ${host.os}, ${host.role}, criticality ${host.criticality}, usage ${host.usage}, owner ${host.owner || '-'}\n` +
            `groups: ${host.groups.join(', ') || '-'}; from ${host.source}, last seen ${formatInZone(host.lastSeenAt, zone)}\n\n`,
        );
        deps.io.stdout(`Packages (${host.packages.length}):\n`);
        if (host.packages.length > 0) writeTable(deps.io, ['ECOSYSTEM', 'NAME', 'VERSION'], host.packages.map((p) => [p.ecosystem, p.name, p.version]));
        deps.io.stdout(`\nOpen exposures (${exposures.length}):\n`);
        if (exposures.length > 0) writeExposureTable(deps, exposures, zone);
      });
    });
}
