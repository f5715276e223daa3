import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildTeamsAppPackage } from '../../chat/teams/app-package.js';
import { loadConfig } from '../../config/load.js';
import type { CliDeps } from '../io.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function registerTeamsCommands(program: Command, deps: CliDeps): void {
  const teams = program.command('teams').description('Microsoft Teams: build the app package to upload');
  teams
    .command('package')
    .description('Write the Teams app package (manifest and icons) as a zip; needs teams.appId (or TEAMS_APP_ID) and an https publicUrl')
    .option('-o, --out <file>', 'where to write the zip', 'dist/patchdeck-teams.zip')
    .action((options: { out: string }) => {
      const { io } = deps;
      // Packaging needs the app id only: without the password the config's "both or neither" rule would refuse it.
      const { TEAMS_APP_ID, TEAMS_APP_PASSWORD: _password, ...env } = io.env;
      const { config } = loadConfig({ file: program.opts<{ config?: string }>().config, env, cwd: io.cwd });
      const appId = TEAMS_APP_ID ?? config.teams.appId ?? '';
      const zip = buildTeamsAppPackage({ manifestDir: path.join(PROJECT_ROOT, 'manifests', 'teams'), appId, publicUrl: config.publicUrl });
      const out = path.resolve(io.cwd, options.out);
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, zip);
      io.stdout(`wrote ${path.relative(io.cwd, out) || out} (${zip.length} bytes)\n`);
    });
}
