import type { Command } from 'commander';
import type { CliDeps } from '../io.js';

export function registerReviewCommands(program: Command, deps: CliDeps): void {
  void program;
  void deps;
}
