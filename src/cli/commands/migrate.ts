import type { Command } from 'commander';
import type { CliDeps } from '../io.js';

export function registerMigrateCommands(program: Command, deps: CliDeps): void {
  void program;
  void deps;
}
