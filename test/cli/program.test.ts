import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliDeps } from '../../src/cli/io.js';
import { scheduleEntries } from '../../src/app/scheduler.js';
import { buildProgram, commandPath } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';

/** Every command of the tree, depth first, the root excluded. */
function allCommands(root: Command): Command[] {
  return root.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** Commands that print records without `--json`, and why. */
const NO_JSON: Record<string, string> = {
  // The review is a document: `--format json` prints it as JSON, `--format md` as Markdown.
  'patchdeck review': 'has --format json',
};

const deps: CliDeps = {
  io: { stdout: () => undefined, stderr: () => undefined, readStdin: async () => '', env: {}, cwd: '/' },
  openContext: () => Promise.reject(new Error('the tree walk opens no database')),
  setExitCode: () => undefined,
};

describe('the command tree', () => {
  const program = buildProgram(deps);
  const commands = allCommands(program);

  it('has the commands the README names', () => {
    expect(commands.length).toBeGreaterThan(30);
    expect(commands.map(commandPath)).toEqual(expect.arrayContaining(['patchdeck start', 'patchdeck hosts show', 'patchdeck feeds quarantine list', 'patchdeck patches fetch']));
  });

  it('describes every command in sentence case, without a closing period', () => {
    const faults = [program, ...commands].flatMap((c) => {
      const text = c.description();
      if (text === '') return [`${commandPath(c)}: no description`];
      if (!/^[A-Z]/.test(text)) return [`${commandPath(c)}: starts in lower case: "${text.slice(0, 30)}"`];
      if (/[.!]$/.test(text)) return [`${commandPath(c)}: ends with a period`];
      return [];
    });
    expect(faults).toEqual([]);
  });

  it('lists its own help command in the same style', () => {
    for (const group of [program, ...commands.filter((c) => c.commands.length > 0)]) {
      expect(group.helpInformation()).toMatch(/\n {2}help \[command\]\s+Show the help of a command\n/);
    }
  });

  it('describes every option', () => {
    const faults = [program, ...commands].flatMap((c) => c.options.filter((o) => o.description.trim() === '').map((o) => `${commandPath(c)} ${o.flags}`));
    expect(faults).toEqual([]);
  });

  it('gives every list, show and status command --json (or says why not)', () => {
    const readers = commands.filter((c) => /^(list|show|status|schemes|check|verify)$/.test(c.name()) || c.name() === 'review');
    expect(readers.length).toBeGreaterThan(10);
    const faults = readers
      .filter((c) => !c.options.some((o) => o.long === '--json'))
      .map(commandPath)
      .filter((name) => NO_JSON[name] === undefined);
    expect(faults).toEqual([]);
  });

  it("says in start's help what the server runs, every scheduled entry included", () => {
    const start = commands.find((c) => commandPath(c) === 'patchdeck start')!;
    const help = start.helpInformation().replace(/\s+/g, ' ');
    for (const part of ['web console', 'Slack', 'Microsoft Teams', 'job worker']) expect(help).toContain(part);
    // Each kind of entry the scheduler runs, as start's help names it; a new kind must be added here and there.
    const named: Record<string, string> = {
      'feeds.poll': 'feed polls',
      'approvals.sweep': 'approval sweeps',
      'sla.sweep': 'SLA and approval sweeps',
      'exemptions.expire': 'exemption expiry',
      'assess.full': 'daily full assessment',
      'digest.send': 'channel digests',
    };
    const config = parseConfig({
      feeds: [{ name: 'kev', kind: 'kev', url: 'https://example.org/kev.json', schedule: '17 * * * *' }],
      routing: { channels: { '#ops': { digest: { at: '09:00' } } } },
    });
    const kinds = [...new Set(scheduleEntries(config).map((e) => e.name.split(':')[0]!))];
    expect(kinds.sort()).toEqual(Object.keys(named).sort());
    for (const kind of kinds) expect([kind, help.includes(named[kind]!)]).toEqual([kind, true]);
    expect(help).toMatch(/--no-scheduler .*feed polls, sweeps, expiry, digests, daily assessment/);
  });

  it('offers --debug and --config on the program', () => {
    expect(program.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--config', '--debug']));
    expect(program.helpInformation()).toContain('PATCHDECK_DEBUG=1');
  });
});
