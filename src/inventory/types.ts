import { z } from 'zod';
import { normalizePackageName } from '../core/matching.js';
import { CRITICALITIES, type HostInput } from '../core/types.js';
import type { HostAttribute } from '../store/queries/hosts.js';

/** One host or row an inventory file could not use, with where it is and which field is at fault. */
export interface InventoryReject {
  /** "line 7" (CSV) or "hosts[3]" (JSON): what a person looks up in the file. */
  location: string;
  /** Host name when it could be read, so the reader knows which machine was left out. */
  host: string | null;
  /** Field at fault, e.g. "criticality" or "packages[2].version". */
  field: string;
  message: string;
}

export interface ParsedInventory {
  hosts: HostInput[];
  rejects: InventoryReject[];
  /** Set by sources that know only part of a host (osquery, hotfix lists); absent means whole hosts. */
  scope?: ImportScope;
}

/**
 * What a partial source may change: a host already stored keeps the attributes in `keep` (a new host
 * gets the parsed defaults), and loses only its packages of the ecosystems the source reports for it.
 */
export interface ImportScope {
  keep: HostAttribute[];
  replace: 'reported-ecosystems';
}

/** An inventory file format. One per file in this folder, listed in `index.ts`. */
export interface InventoryFormat {
  name: string;
  /** File name endings that select this format when `--format` is not given (".json"). */
  extensions: string[];
  description: string;
  /**
   * Reads the whole file. A host with any bad field is rejected whole (with every fault reported), so
   * an import never replaces a host's package list with a partial one. Throws a PatchdeckError only
   * when the file as a whole cannot be read.
   */
  parse(text: string, source: string): ParsedInventory;
}

/** A live source that reads hosts from the machines themselves. One per file in this folder, listed in `index.ts`. */
export interface InventoryScanner {
  name: string;
  description: string;
}

/**
 * Host names are later passed to ssh and other tools as one argument: DNS-style labels only
 * (letters, digits, `-`, `_`, dots between labels), never a leading `-`, no spaces or shell characters.
 */
export const HOST_NAME_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$/;

/** Package names across ecosystems: `libssl3`, `@types/node`, `Jinja2`, `g++`, `python3.12`. */
const PACKAGE_NAME_PATTERN = /^[A-Za-z0-9@_][A-Za-z0-9@/._+~-]*$/;
/** deb `1:8.9p1-3ubuntu0.10~18.04+esm5`, rpm `0:1.2-3.el9^x`, PEP 440 `1!2.0+local`, semver `1.0.0-rc.1+b`. */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+~:^!-]*$/;
/** `Debian:12`, `Ubuntu:22.04:LTS`, `Rocky Linux:9`, `npm`, `PyPI`. */
const ECOSYSTEM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._:-]*$/;

const text = (what: string) => z.string({ error: `${what} is required` }).trim().min(1, `${what} is required`);

/** Hotfixes (ecosystem `Windows`, name `KB5031354`) carry their install date as version, or '' when unknown. */
export const WINDOWS_ECOSYSTEM = 'Windows';
const VERSION_MESSAGE = 'version has characters a version cannot have (spaces, quotes, shell characters, or a leading "-")';

export const HostPackageSchema = z
  .object({
    ecosystem: text('ecosystem').regex(ECOSYSTEM_PATTERN, 'ecosystem must look like "Debian:12", "Ubuntu:22.04:LTS", "npm" or "PyPI"'),
    name: text('package name').max(214).regex(PACKAGE_NAME_PATTERN, 'package name has characters a package name cannot have (spaces, quotes, shell characters, or a leading "-")'),
    version: z.string({ error: 'version is required' }).trim().max(200),
  })
  .passthrough()
  .superRefine((p, check) => {
    if (p.version === '') {
      if (p.ecosystem !== WINDOWS_ECOSYSTEM) check.addIssue({ code: 'custom', path: ['version'], message: 'version is required' });
    } else if (!VERSION_PATTERN.test(p.version)) {
      check.addIssue({ code: 'custom', path: ['version'], message: VERSION_MESSAGE });
    }
  });

export const HostRecordSchema = z
  .object({
    name: text('host name').regex(HOST_NAME_PATTERN, 'host name must be letters, digits, "-", "_" and dots, not starting with "-" (it is used as an ssh argument)'),
    os: text('os'),
    role: text('role').toLowerCase(),
    criticality: z
      .string({ error: 'criticality is required' })
      .trim()
      .toLowerCase()
      .pipe(z.enum(CRITICALITIES, { error: `criticality must be one of ${CRITICALITIES.join(', ')}` })),
    usage: z.number({ error: 'usage must be a number from 0 to 1' }).min(0, 'usage must be from 0 to 1').max(1, 'usage must be from 0 to 1').default(0),
    owner: z.string({ error: 'owner must be text' }).trim().default(''),
    groups: z.array(text('group name'), { error: 'groups must be a list of names' }).default([]),
    packages: z.array(HostPackageSchema, { error: 'packages must be a list' }).default([]),
  })
  .passthrough();

export interface FieldFault {
  field: string;
  message: string;
}

/** Validates one host record; PyPI names are stored PEP 503-normalised so they join advisory names. */
export function validateHost(raw: unknown): { host: HostInput } | { faults: FieldFault[] } {
  const result = HostRecordSchema.safeParse(raw);
  if (!result.success) {
    return { faults: result.error.issues.map((issue) => ({ field: formatPath(issue.path), message: issue.message })) };
  }
  const data = result.data;
  const seen = new Set<string>();
  const packages = [];
  for (const p of data.packages) {
    const name = normalizePackageName(p.ecosystem, p.name);
    const key = `${p.ecosystem}\u0000${name}\u0000${p.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    packages.push({ ecosystem: p.ecosystem, name, version: p.version });
  }
  return {
    host: {
      name: data.name,
      os: data.os,
      role: data.role,
      criticality: data.criticality,
      usage: data.usage,
      owner: data.owner,
      groups: [...new Set(data.groups)],
      packages,
    },
  };
}

function formatPath(path: PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(host)' : out;
}
