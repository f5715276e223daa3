import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process; `versions` never opens the store, so no database is configured. */
async function run(argv: string[], stdin = ''): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    readStdin: async () => stdin,
    env: {},
    cwd: '/nonexistent',
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('patchdeck versions compare', () => {
  it.each([
    ['deb', '1:8.9p1-3ubuntu0.10', '1:8.9p1-3ubuntu0.9', '1'],
    ['deb', '1.0~rc1', '1.0', '-1'],
    ['rpm', '1.9.13p3-1.el9', '1.9.13-1.el9', '1'],
    ['rpm', '1.0^', '1.0.1', '-1'],
    ['semver', 'v1.2.3', '1.2.3', '0'],
    ['pep440', '1.0rc1', '1.0', '-1'],
    ['go', 'v0.0.0-20201208171446-5f87f3452ae9', '0.0.0-20201216223049-8b5274cf687f', '-1'],
    ['go', 'v20.10.14+incompatible', '20.10.14', '0'],
    ['maven', '2.0-beta9', '2.0', '-1'],
    ['maven', '2.15.0.RELEASE', '2.15', '0'],
    ['maven', '1.0-sp1', '1.0', '1'],
  ])('--scheme %s %s %s prints %s', async (scheme, a, b, expected) => {
    expect(await run(['versions', 'compare', '--scheme', scheme, a, b])).toEqual({ code: 0, stdout: `${expected}\n`, stderr: '' });
  });

  it('takes versions after "--" even when they start with "-"', async () => {
    const result = await run(['versions', 'compare', '--scheme', 'deb', '--', '-1', '1.0']);
    // read as a version (and refused by dpkg's rules), not as an unknown option
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('patchdeck: [PD_VERSION_INVALID] "-1" is not a valid deb version: the upstream version is empty\n');
    expect(await run(['versions', 'compare', '--scheme', 'deb', '--', '--help', '1.0'])).toMatchObject({ code: 1, stdout: '' });
  });

  it('exits 1 with the reason for an invalid version', async () => {
    const result = await run(['versions', 'compare', '--scheme', 'rpm', '1.0', ':1.0']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain('":1.0" is not a valid rpm version');
  });

  it.each([
    [['versions', 'compare', '--scheme', 'dpkg', '1', '2'], 'unknown scheme "dpkg"; use one of deb, rpm, semver, pep440'],
    [['versions', 'compare', '--scheme', 'deb', '1'], 'give two versions'],
    [['versions', 'compare', '--scheme', 'deb'], 'give two versions'],
    [['versions', 'compare', '--scheme', 'deb', '1', '2', '3'], 'too many arguments'],
    [['versions', 'compare', '1', '2'], "required option '--scheme <scheme>' not specified"],
    [['versions', 'compare', '--scheme', 'deb', '--batch', '1'], '--batch reads the versions from stdin'],
  ])('exits 2 for bad usage: %j', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  it('documents "--", the output and the exit codes in --help', async () => {
    const result = await run(['versions', 'compare', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--scheme <scheme>');
    expect(result.stdout).toContain('deb, rpm, semver, pep440');
    expect(result.stdout).toContain('Anything after "--" is a version even when it starts with "-"');
    expect(result.stdout).toContain('Exit codes: 0 compared, 1 an invalid version or batch line, 2 bad usage.');
  });
});

describe('patchdeck versions compare --batch', () => {
  it('prints one result per non-blank line', async () => {
    const input = '1.0-1.el9\t1:0.9-1.el9\n\n  \n2.0-1.el9.alma.1\t2.0-1.el9\r\n1.0\t1.0\n';
    expect(await run(['versions', 'compare', '--scheme', 'rpm', '--batch'], input)).toEqual({ code: 0, stdout: '-1\n1\n0\n', stderr: '' });
  });

  it('prints "error" for a bad line, names its line number, finishes the rest and exits 1', async () => {
    const input = ['1.0\t2.0', '', 'only-one-field', '1.0\tabc', '2:1\t1:9', '1\t2\t3', '1.0~\t1.0'].join('\n');
    const result = await run(['versions', 'compare', '--scheme', 'deb', '--batch'], input);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(['-1', 'error', 'error', '1', 'error', '-1', ''].join('\n'));
    expect(result.stderr.split('\n')).toEqual([
      'patchdeck: line 3: expected two versions separated by one tab, found 1 field',
      'patchdeck: line 4: "abc" is not a valid deb version: the upstream version must start with a digit [PD_VERSION_INVALID]',
      'patchdeck: line 6: expected two versions separated by one tab, found 3 fields',
      '',
    ]);
  });

  it('prints nothing and succeeds for empty input', async () => {
    expect(await run(['versions', 'compare', '--scheme', 'semver', '--batch'], '')).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('patchdeck versions schemes', () => {
  it('lists the schemes and the ecosystems they order as JSON', async () => {
    const result = await run(['versions', 'schemes', '--json']);
    expect(result.code).toBe(0);
    const schemes = JSON.parse(result.stdout) as { scheme: string; rules: string; ecosystems: string[] }[];
    expect(schemes.map((s) => s.scheme)).toEqual(['deb', 'rpm', 'semver', 'pep440', 'go', 'maven']);
    expect(schemes.find((s) => s.scheme === 'go')?.ecosystems).toEqual(['Go']);
    expect(schemes.find((s) => s.scheme === 'maven')?.ecosystems).toEqual(['Maven']);
    expect(schemes.find((s) => s.scheme === 'rpm')?.ecosystems).toEqual(expect.arrayContaining(['AlmaLinux', 'Rocky Linux', 'Red Hat']));
    expect(schemes.find((s) => s.scheme === 'deb')?.ecosystems).toEqual(['Debian', 'Ubuntu']);
  });

  it('prints a table for people', async () => {
    const result = await run(['versions', 'schemes']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SCHEME\s+ECOSYSTEMS\s+RULES$/);
    expect(lines).toHaveLength(7);
    expect(lines[2]).toMatch(/^rpm\s+AlmaLinux, Rocky Linux, Red Hat/);
  });
});
