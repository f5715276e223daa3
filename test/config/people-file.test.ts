import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { PatchdeckError } from '../../src/core/errors.js';

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'patchdeck-people-'));
}

/** A config folder with patchdeck.yaml and the given files; answers the folder. */
function configDir(config: string, files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'patchdeck.yaml'), config);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function failure(run: () => unknown): PatchdeckError {
  try {
    run();
  } catch (error) {
    if (error instanceof PatchdeckError) return error;
    throw error;
  }
  throw new Error('expected a PatchdeckError');
}

const PEOPLE_YAML = ['- { id: carol, name: Carol Example, groups: [approvers, cab], slack: U0CAROL }', '- id: dave', '  name: Dave Example', '  email: dave@example.com', ''].join('\n');

describe('peopleFile', () => {
  it('merges the file\'s people after the inline ones, relative to the config file, with defaults applied', () => {
    const dir = configDir('people:\n  - { id: alice, name: Alice Example, groups: [approvers] }\npeopleFile: conf.d/people.yaml\n', { 'conf.d/people.yaml': PEOPLE_YAML });
    // Loaded from another working directory: the path is relative to the config file, not the cwd.
    const { config } = loadConfig({ cwd: tempDir(), file: path.join(dir, 'patchdeck.yaml'), env: {} });
    expect(config.people).toEqual([
      { id: 'alice', name: 'Alice Example', groups: ['approvers'] },
      { id: 'carol', name: 'Carol Example', groups: ['approvers', 'cab'], slack: 'U0CAROL' },
      { id: 'dave', name: 'Dave Example', groups: [], email: 'dave@example.com' },
    ]);
    expect(config.peopleFile).toBe(path.join(dir, 'conf.d/people.yaml'));
  });

  it('takes a JSON file, and a mapping with a people list', () => {
    const json = configDir('peopleFile: people.json\n', { 'people.json': JSON.stringify([{ id: 'erin', name: 'Erin' }]) });
    expect(loadConfig({ cwd: json, env: {} }).config.people.map((p) => p.id)).toEqual(['erin']);
    const mapping = configDir('peopleFile: people.yaml\n', { 'people.yaml': `people:\n${PEOPLE_YAML.replace(/^/gm, '  ')}` });
    expect(loadConfig({ cwd: mapping, env: {} }).config.people.map((p) => p.id)).toEqual(['carol', 'dave']);
  });

  it('refuses an id defined in both places, naming both', () => {
    const dir = configDir('people:\n  - { id: bob, name: Bob }\n  - { id: dave, name: Dave Inline }\npeopleFile: people.yaml\n', { 'people.yaml': PEOPLE_YAML });
    const error = failure(() => loadConfig({ cwd: dir, env: {} }));
    expect(error.code).toBe('PD_CONFIG_INVALID');
    expect(error.message).toBe(`person id "dave" is defined twice: config setting "people.1" and entry 2 of people file ${path.join(dir, 'people.yaml')}; each person needs one entry (merge them or change one id)`);
  });

  it('refuses an id twice inside the file, and twice inline', () => {
    const dir = configDir('peopleFile: people.yaml\n', { 'people.yaml': `${PEOPLE_YAML}- { id: carol, name: Carol Again }\n` });
    expect(failure(() => loadConfig({ cwd: dir, env: {} })).message).toMatch(/^person id "carol" is defined twice: entry 1 of people file .*people\.yaml and entry 3 of people file .*people\.yaml;/);
    expect(failure(() => parseConfig({ people: [{ id: 'alice', name: 'A' }, { id: 'alice', name: 'B' }] })).message).toMatch(/^person id "alice" is defined twice: config setting "people.0" and config setting "people.1"/);
  });

  it('fails fast naming the file and the entry at fault', () => {
    const bad = configDir('peopleFile: people.yaml\n', { 'people.yaml': `${PEOPLE_YAML}- { id: Frank, name: Frank }\n` });
    const file = path.join(bad, 'people.yaml');
    expect(failure(() => loadConfig({ cwd: bad, env: {} })).message).toBe(`entry 3 ("Frank") of people file ${file}: "id": lower-case id such as "alice"`);
    const noName = configDir('peopleFile: people.yaml\n', { 'people.yaml': '- { id: gina, slack: 42 }\n' });
    expect(failure(() => loadConfig({ cwd: noName, env: {} })).message).toMatch(/^entry 1 \("gina"\) of people file .*people\.yaml: "name": /);
  });

  it('says when the file is missing, unreadable or not a list', () => {
    const missing = configDir('peopleFile: nobody.yaml\n');
    expect(failure(() => loadConfig({ cwd: missing, env: {} }))).toMatchObject({ code: 'PD_CONFIG_NOT_FOUND', message: `people file ${path.join(missing, 'nobody.yaml')} (config setting "peopleFile") does not exist` });
    const broken = configDir('peopleFile: people.yaml\n', { 'people.yaml': '- [unclosed\n' });
    expect(failure(() => loadConfig({ cwd: broken, env: {} }))).toMatchObject({ code: 'PD_CONFIG_PARSE', message: expect.stringMatching(/people\.yaml is not valid YAML\/JSON/) });
    const scalar = configDir('peopleFile: people.yaml\n', { 'people.yaml': 'alice\n' });
    expect(failure(() => loadConfig({ cwd: scalar, env: {} })).message).toMatch(/people\.yaml must hold a list of people/);
    const notPath = configDir('peopleFile: [a, b]\n');
    expect(failure(() => loadConfig({ cwd: notPath, env: {} })).message).toMatch(/config setting "peopleFile": give the path/);
  });
});

describe('routing settings', () => {
  it('takes owners on a rule and a managers channel for review summaries', () => {
    const config = parseConfig({ routing: { reviewChannel: '#it-managers', rules: [{ channel: '#desk', owners: ['carol', 'dave@example.com'] }] } });
    expect(config.routing.reviewChannel).toBe('#it-managers');
    expect(config.routing.rules[0]!.owners).toEqual(['carol', 'dave@example.com']);
    expect(() => parseConfig({ routing: { rules: [{ channel: '#desk', owners: [] }] } })).toThrow(/routing\.rules\.0\.owners/);
    expect(() => parseConfig({ routing: { reviewChannel: '' } })).toThrow(/routing\.reviewChannel/);
  });

  it('lets an owner naming a configured person match the person\'s id and email alike', () => {
    const config = parseConfig({
      people: [{ id: 'carol', name: 'Carol', email: 'Carol@Example.com' }],
      routing: { rules: [{ channel: '#a', owners: ['carol'] }, { channel: '#b', owners: ['carol@example.com', 'web-team'] }] },
    });
    expect(config.routing.rules.map((r) => r.owners)).toEqual([
      ['carol', 'Carol@Example.com'],
      ['carol@example.com', 'web-team', 'carol', 'Carol@Example.com'],
    ]);
  });
});
