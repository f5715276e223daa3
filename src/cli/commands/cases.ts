import type { Command } from 'commander';
import type { CliDeps } from '../io.js';

export function registerCasesCommands(program: Command, deps: CliDeps): void {
  void program;
  void deps;
}
