import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import { getInventoryFormat, inventoryFormatForFile, inventoryFormatNames, type InventoryReject } from '../../inventory/index.js';
import { listExposures } from '../../store/queries/exposures.js';
import { getHostDetail, listHosts } from '../../store/queries/hosts.js';
import { importInventory } from '../../workflow/inventory.js';
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

export function registerInventoryCommands(program: Command, deps: CliDeps): void {
  program
    .command('inventory')
    .description('The host inventory: which hosts exist and what is installed on them')
    .command('import <file>')
    .description(
      'Import hosts and their packages from a JSON or CSV file ("-" reads standard input). Re-importing a host replaces its package list; ' +
        'hosts with a bad field are reported and left unchanged, the others are imported, and the exit code is then 1',
    )
    .option('-f, --format <format>', `file format, ${inventoryFormatNames().join(' or ')}; default: from the file name extension`)
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

  const hosts = program.command('hosts').description('Hosts in the inventory and their exposures');

  hosts
    .command('list')
    .description('List hosts with their package and open exposure counts')
    .option('--json', 'print as JSON')
    .action(async (options: { json?: boolean }) => {
      await withContext(deps, async (ctx) => {
        const list = await listHosts(ctx.store.db);
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
            })),
          );
          return;
        }
        if (list.length === 0) {
          deps.io.stdout('No hosts yet; import some with `patchdeck inventory import FILE`.\n');
          return;
        }
        writeTable(
          deps.io,
          ['NAME', 'OS', 'ROLE', 'CRITICALITY', 'PACKAGES', 'OPEN', 'LAST SEEN', 'GROUPS'],
          list.map((h) => [h.name, h.os, h.role, h.criticality, h.packages, h.openExposures, formatInZone(h.lastSeenAt, ctx.config.timezone), h.groups.join(', ')]),
        );
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
