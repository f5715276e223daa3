import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PatchdeckError } from '../core/errors.js';
import { demoConfig } from './demo.js';
import { ConfigSchema, PersonSchema, type Config } from './schema.js';

export interface LoadConfigOptions {
  /** Explicit path (from --config or PATCHDECK_CONFIG). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Where it came from, for the start-up banner. */
  source: string;
}

const DEFAULT_FILES = ['patchdeck.yaml', 'patchdeck.yml', 'patchdeck.json'];

/**
 * Reads the config file (YAML or JSON), applies environment overrides, and validates once.
 * With no file at all Patchdeck runs its offline demo. Errors name the setting at fault.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.PATCHDECK_CONFIG;
  let raw: Record<string, unknown> = {};
  let source = 'built-in demo defaults (no patchdeck.yaml found)';
  const file = explicit ?? DEFAULT_FILES.map((f) => path.join(cwd, f)).find((f) => existsSync(f));
  if (file !== undefined) {
    const resolved = path.resolve(cwd, file);
    if (!existsSync(resolved)) {
      throw new PatchdeckError('PD_CONFIG_NOT_FOUND', `config file ${resolved} does not exist`);
    }
    try {
      const text = readFileSync(resolved, 'utf8');
      const parsed: unknown = resolved.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
      raw = (parsed ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new PatchdeckError('PD_CONFIG_PARSE', `config file ${resolved} is not valid YAML/JSON: ${(error as Error).message}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new PatchdeckError('PD_CONFIG_PARSE', `config file ${resolved} must hold a mapping at the top level`);
    }
    source = resolved;
    raw = mergePeopleFile(raw, path.dirname(resolved));
  } else {
    raw = demoConfig();
  }
  return { config: parseConfig(applyEnv(raw, env)), source };
}

/**
 * Inventories write a host's owner as a person id or an email; a routing rule's `owners` entry naming a
 * configured person gets the other spelling too, so either matches.
 */
function addOwnerAliases(config: Config): void {
  const aliases = (owner: string): string[] => {
    const wanted = owner.trim().toLowerCase();
    const person = config.people.find((p) => p.id === wanted || p.email?.toLowerCase() === wanted);
    return person === undefined ? [] : [person.id, ...(person.email === undefined ? [] : [person.email])];
  };
  for (const rule of config.routing.rules) {
    if (rule.owners !== undefined) rule.owners = [...new Set([...rule.owners, ...rule.owners.flatMap(aliases)])];
  }
}

/** Where a person was defined, for error messages that name both copies of a duplicate id. */
interface PersonOrigin {
  id: string;
  where: string;
}

/** A person id defined twice is refused, naming both places (config entries or people file entries). */
function checkUniquePeople(origins: readonly PersonOrigin[]): void {
  const seen = new Map<string, string>();
  for (const { id, where } of origins) {
    const first = seen.get(id);
    if (first !== undefined) {
      throw new PatchdeckError('PD_CONFIG_INVALID', `person id "${id}" is defined twice: ${first} and ${where}; each person needs one entry (merge them or change one id)`);
    }
    seen.set(id, where);
  }
}

const idOf = (entry: unknown): string | null => {
  const id = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).id : undefined;
  return typeof id === 'string' ? id : null;
};

/**
 * Reads `peopleFile` (relative to the config file's folder): a YAML or JSON list of people with the
 * fields of `people`, or a mapping holding such a list under `people`. Each entry is validated here, so
 * a mistake names the file and the entry; the list is then appended to the inline `people`.
 */
function mergePeopleFile(raw: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  if (raw.peopleFile === undefined) return raw;
  if (typeof raw.peopleFile !== 'string' || raw.peopleFile.trim() === '') {
    throw new PatchdeckError('PD_CONFIG_INVALID', 'config setting "peopleFile": give the path of a YAML or JSON file listing people, e.g. "people.yaml"');
  }
  const file = path.resolve(baseDir, raw.peopleFile);
  if (!existsSync(file)) throw new PatchdeckError('PD_CONFIG_NOT_FOUND', `people file ${file} (config setting "peopleFile") does not exist`);
  let parsed: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    parsed = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new PatchdeckError('PD_CONFIG_PARSE', `people file ${file} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as Record<string, unknown>).people) ? ((parsed as Record<string, unknown>).people as unknown[]) : null;
  if (list === null) throw new PatchdeckError('PD_CONFIG_PARSE', `people file ${file} must hold a list of people (or a mapping with a "people" list)`);
  const entryName = (i: number, entry: unknown) => `entry ${i + 1}${idOf(entry) === null ? '' : ` ("${idOf(entry)}")`} of people file ${file}`;
  list.forEach((entry, i) => {
    const result = PersonSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = issue.path.join('.');
      throw new PatchdeckError('PD_CONFIG_INVALID', `${entryName(i, entry)}: ${field === '' ? '' : `"${field}": `}${issue.message}`);
    }
  });
  const inline = Array.isArray(raw.people) ? (raw.people as unknown[]) : [];
  checkUniquePeople([
    ...inline.flatMap((entry, i) => (idOf(entry) === null ? [] : [{ id: idOf(entry)!, where: `config setting "people.${i}"` }])),
    ...list.map((entry, i) => ({ id: idOf(entry)!, where: entryName(i, entry).replace(/ \("[^"]*"\)/, '') })),
  ]);
  return { ...raw, people: [...inline, ...list], peopleFile: file };
}

function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  const slack = { ...((raw.slack as Record<string, unknown> | undefined) ?? {}) };
  if (env.DATABASE_URL) out.databaseUrl = env.DATABASE_URL;
  if (env.PORT) {
    const port = Number(env.PORT);
    if (!Number.isInteger(port)) throw new PatchdeckError('PD_CONFIG_INVALID', `PORT must be a whole number (got "${env.PORT}")`);
    out.port = port;
  }
  if (env.PATCHDECK_PUBLIC_URL) out.publicUrl = env.PATCHDECK_PUBLIC_URL;
  if (env.PATCHDECK_TIMEZONE) out.timezone = env.PATCHDECK_TIMEZONE;
  if (env.SLACK_BOT_TOKEN) slack.botToken = env.SLACK_BOT_TOKEN;
  if (env.SLACK_SIGNING_SECRET) slack.signingSecret = env.SLACK_SIGNING_SECRET;
  if (env.SLACK_API_URL) slack.apiUrl = env.SLACK_API_URL;
  out.slack = slack;
  const teams = { ...((raw.teams as Record<string, unknown> | undefined) ?? {}) };
  if (env.TEAMS_APP_ID) teams.appId = env.TEAMS_APP_ID;
  if (env.TEAMS_APP_PASSWORD) teams.appPassword = env.TEAMS_APP_PASSWORD;
  if (env.TEAMS_TENANT_ID) teams.tenantId = env.TEAMS_TENANT_ID;
  out.teams = teams;
  const rawAuth = (raw.web as { auth?: { oidc?: unknown } } | undefined)?.auth;
  if (env.PATCHDECK_OIDC_CLIENT_SECRET && typeof rawAuth?.oidc === 'object' && rawAuth.oidc !== null) {
    const web = { ...(raw.web as Record<string, unknown>) };
    const auth: Record<string, unknown> = { ...rawAuth };
    auth.oidc = { ...(rawAuth.oidc as Record<string, unknown>), clientSecret: env.PATCHDECK_OIDC_CLIENT_SECRET };
    web.auth = auth;
    out.web = web;
  }
  return out;
}

export function parseConfig(raw: unknown): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const setting = issue.path.join('.') || '(top level)';
    throw new PatchdeckError('PD_CONFIG_INVALID', `config setting "${setting}": ${issue.message}`, {
      details: { issues: result.error.issues.map((i) => ({ setting: i.path.join('.'), message: i.message })) },
    });
  }
  const config = result.data;
  checkUniquePeople(config.people.map((p, i) => ({ id: p.id, where: `config setting "people.${i}"` })));
  addOwnerAliases(config);
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: config.timezone });
  } catch {
    throw new PatchdeckError('PD_CONFIG_INVALID', `config setting "timezone": unknown time zone "${config.timezone}" (use an IANA name such as Europe/Berlin)`);
  }
  const slackSet = [config.slack.botToken, config.slack.signingSecret].filter(Boolean).length;
  if (slackSet === 1) {
    throw new PatchdeckError('PD_CONFIG_INVALID', 'config setting "slack": set both botToken (SLACK_BOT_TOKEN) and signingSecret (SLACK_SIGNING_SECRET), or neither');
  }
  const teamsSet = [config.teams.appId, config.teams.appPassword].filter(Boolean).length;
  if (teamsSet === 1) {
    throw new PatchdeckError('PD_CONFIG_INVALID', 'config setting "teams": set both appId (TEAMS_APP_ID) and appPassword (TEAMS_APP_PASSWORD), or neither');
  }
  return config;
}
