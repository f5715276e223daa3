import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { migrateToLatest, openStore } from '../../store/db.js';
import { writeJson, type CliDeps } from '../io.js';

export function registerMigrateCommands(program: Command, deps: CliDeps): void {
  program
    .command('migrate')
    .description('Create or upgrade the database schema (also done by every command that opens the database)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const { config } = loadConfig({ file: program.opts<{ config?: string }>().config, env: deps.io.env, cwd: deps.io.cwd });
      const store = await openStore(config.databaseUrl);
      try {
        const { applied } = await migrateToLatest(store);
        if (options.json) writeJson(deps.io, { database: store.location, applied });
        else deps.io.stdout(applied.length === 0 ? `${store.location}: schema is up to date\n` : `${store.location}: applied ${applied.join(', ')}\n`);
      } finally {
        await store.close();
      }
    });
}
