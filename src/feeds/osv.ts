import { z } from 'zod';
import type { AdvisoryInput, AffectedPackage, AffectedRange, RangeEvent } from '../core/types.js';
import { schemeForEcosystem } from '../core/versions/index.js';
import { pickCvss } from './shared/cvss.js';
import { cveFromAlias, describeSchemaError, readJsonDocument, toIsoOrNull, unique } from './shared/documents.js';
import { isZip, readZip } from './shared/zip.js';
import type { FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

const stringList = z.array(z.string()).nullish();

const SeveritySchema = z.object({ type: z.string(), score: z.union([z.string(), z.number()]) }).passthrough();

const EventSchema = z
  .object({
    introduced: z.string().optional(),
    fixed: z.string().optional(),
    last_affected: z.string().optional(),
    limit: z.string().optional(),
  })
  .passthrough();

const AffectedSchema = z
  .object({
    package: z.object({ ecosystem: z.string().min(1), name: z.string().min(1), purl: z.string().nullish() }).passthrough().optional(),
    ranges: z.array(z.object({ type: z.string(), events: z.array(EventSchema) }).passthrough()).nullish(),
    versions: stringList,
    severity: z.array(SeveritySchema).nullish(),
    // Free-form per ecosystem; read below with narrow checks.
    ecosystem_specific: z.record(z.string(), z.unknown()).nullish(),
    database_specific: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

const OsvRecordSchema = z
  .object({
    id: z.string().min(1),
    summary: z.string().nullish(),
    details: z.string().nullish(),
    aliases: stringList,
    upstream: stringList,
    related: stringList,
    published: z.string().nullish(),
    modified: z.string().nullish(),
    withdrawn: z.string().nullish(),
    severity: z.array(SeveritySchema).nullish(),
    affected: z.array(AffectedSchema).nullish(),
    references: z.array(z.object({ type: z.string().optional(), url: z.string() }).passthrough()).nullish(),
    database_specific: z.record(z.string(), z.unknown()).nullish(),
  })
  .passthrough();

type OsvRecord = z.infer<typeof OsvRecordSchema>;
type OsvAffected = z.infer<typeof AffectedSchema>;

/** Ubuntu priorities, lowest first. */
const UBUNTU_PRIORITIES = ['negligible', 'low', 'medium', 'high', 'critical'];

/** `ecosystem_specific.binaries`: Ubuntu writes `[{binary_name, binary_version}]`; tolerate a name→version map too. */
function binaryNames(affected: OsvAffected): string[] {
  const binaries = affected.ecosystem_specific?.binaries;
  if (Array.isArray(binaries)) {
    return binaries
      .map((b) => (typeof b === 'string' ? b : (b as { binary_name?: unknown } | null)?.binary_name))
      .filter((name): name is string => typeof name === 'string' && name !== '');
  }
  if (binaries !== null && typeof binaries === 'object') return Object.keys(binaries);
  return [];
}

interface CvesMapEntry {
  id?: unknown;
  severity?: { type?: unknown; score?: unknown }[];
}

/** Ubuntu's per-release CVE list: `database_specific.cves_map.cves[]` with CVSS vectors and the Ubuntu priority. */
function cvesMapEntries(affected: OsvAffected): CvesMapEntry[] {
  const map = affected.database_specific?.cves_map as { cves?: unknown } | undefined;
  return Array.isArray(map?.cves) ? (map.cves as CvesMapEntry[]) : [];
}

function toRange(range: { type: string; events: z.infer<typeof EventSchema>[] }): AffectedRange {
  const events: RangeEvent[] = range.events.map((event) => {
    const kept: RangeEvent = {};
    for (const key of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
      if (event[key] !== undefined) kept[key] = event[key];
    }
    return kept;
  });
  return { type: range.type, events };
}

function toAffected(entries: OsvAffected[]): AffectedPackage[] {
  return entries.flatMap((entry) => {
    // An entry without a package names only a repository (GIT ranges): nothing a host can have installed.
    if (!entry.package) return [];
    return [
      {
        ecosystem: entry.package.ecosystem,
        name: entry.package.name,
        binaries: unique(binaryNames(entry)),
        ranges: (entry.ranges ?? []).map(toRange),
        versions: entry.versions ?? [],
      },
    ];
  });
}

function pickUrl(record: OsvRecord): string | null {
  const references = record.references ?? [];
  return (
    references.find((r) => r.url.includes(record.id))?.url ??
    references.find((r) => r.type === 'ADVISORY')?.url ??
    references[0]?.url ??
    null
  );
}

function vendorSeverity(record: OsvRecord): string | null {
  const github = record.database_specific?.severity;
  if (typeof github === 'string' && github.trim() !== '') return github.trim();
  let best = -1;
  for (const affected of record.affected ?? []) {
    for (const cve of cvesMapEntries(affected)) {
      for (const severity of cve.severity ?? []) {
        if (severity.type === 'Ubuntu' && typeof severity.score === 'string') {
          best = Math.max(best, UBUNTU_PRIORITIES.indexOf(severity.score.toLowerCase()));
        }
      }
    }
  }
  return best >= 0 ? UBUNTU_PRIORITIES[best]! : null;
}

const isVectorType = (type: unknown): boolean => typeof type === 'string' && /^CVSS_V[234]$/.test(type);

function cvss(record: OsvRecord): AdvisoryInput['cvss'] {
  const direct = [...(record.severity ?? []), ...(record.affected ?? []).flatMap((a) => a.severity ?? [])]
    .filter((s) => isVectorType(s.type))
    .map((s) => String(s.score));
  const fromRecord = pickCvss(direct);
  if (fromRecord?.score != null) return fromRecord;
  const fromCvesMap = (record.affected ?? [])
    .flatMap(cvesMapEntries)
    .flatMap((cve) => cve.severity ?? [])
    .filter((s) => isVectorType(s.type) && typeof s.score === 'string')
    .map((s) => s.score as string);
  return pickCvss(fromCvesMap) ?? fromRecord;
}

function firstLine(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n')[0]?.trim() ?? '';
}

function toAdvisory(record: OsvRecord): AdvisoryInput {
  const cves = unique(
    [...(record.aliases ?? []), ...(record.upstream ?? []), ...(record.related ?? [])]
      .map(cveFromAlias)
      .filter((cve): cve is string => cve !== null),
  );
  return {
    id: record.id,
    source: 'osv',
    trust: 'authoritative',
    title: record.summary?.trim() || firstLine(record.details) || record.id,
    summary: (record.details ?? record.summary ?? '').trim(),
    url: pickUrl(record),
    publishedAt: toIsoOrNull(record.published),
    modifiedAt: toIsoOrNull(record.modified),
    withdrawnAt: toIsoOrNull(record.withdrawn),
    cves,
    affected: toAffected(record.affected ?? []),
    cvss: cvss(record),
    kev: null,
    vendorSeverity: vendorSeverity(record),
  };
}

/** Reads one OSV document (a record or a JSON array of them) into `advisories`; `inZip`: a bad entry is one record of its archive. */
function readOsvDocument(location: string, body: Buffer, advisories: AdvisoryInput[], errors: FeedParseError[], inZip = false): void {
  const read = readJsonDocument(location, body);
  if (!read.ok) {
    errors.push(inZip ? { ...read.error, scope: 'record' } : read.error);
    return;
  }
  const isArray = Array.isArray(read.value);
  const records: unknown[] = isArray ? (read.value as unknown[]) : [read.value];
  if (!isArray && (read.value === null || typeof read.value !== 'object' || !('id' in read.value))) {
    errors.push({ location, scope: inZip ? 'record' : 'document', message: 'is not an OSV record (no "id") nor a JSON array of records' });
    return;
  }
  records.forEach((raw, index) => {
    const parsed = OsvRecordSchema.safeParse(raw);
    const where = isArray ? `${location}[${index}]` : location;
    if (!parsed.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      errors.push({
        location: typeof id === 'string' ? `${where} (${id})` : where,
        scope: isArray || inZip ? 'record' : 'document',
        message: `is not a valid OSV record: ${describeSchemaError(parsed.error)}`,
      });
      return;
    }
    const record = parsed.data;
    const unknown = unknownEcosystems(record);
    if (unknown.length > 0) {
      const kept = (record.affected ?? []).filter((a) => !a.package || schemeForEcosystem(a.package.ecosystem) !== null);
      const orderable = kept.some((a) => a.package);
      const what = `unknown ecosystem ${unknown.join(', ')}: Patchdeck cannot order its versions`;
      // Scope `record` even for a one-record document: the document was read; one record could not be used.
      errors.push({
        location: `${where} (${record.id})`,
        scope: 'record',
        message: orderable ? `${what}; its affected entries were skipped, the rest of the record kept` : `${what}; record skipped`,
      });
      if (!orderable) return;
      advisories.push(toAdvisory({ ...record, affected: kept }));
      return;
    }
    advisories.push(toAdvisory(record));
  });
}

/**
 * Ecosystems of the record's affected packages that no version scheme orders (`Frobnix:7`, `Alpine:v3.18`,
 * `crates.io`): such an entry could never be matched to a host, so storing it would only look like coverage.
 */
function unknownEcosystems(record: OsvRecord): string[] {
  return unique((record.affected ?? []).flatMap((a) => (a.package && schemeForEcosystem(a.package.ecosystem) === null ? [a.package.ecosystem] : [])));
}

/** An archive unpacks to at most this much unless the workflow passes config `fetch.maxBytes`. */
const DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024;

/**
 * OSV records (https://ossf.github.io/osv-schema/): one record per document, a JSON array of
 * records, or a zip export (`all.zip`, one record per `.json` entry, located as `file.zip!/ID.json`).
 * Distro ecosystems (`Ubuntu:22.04:LTS`, `Debian:12`, `AlmaLinux:9`, …) and language ecosystems
 * (`npm`, `PyPI`) alike; the id is read from the content, never from the file name.
 */
export const osvFeed: FeedPlugin = {
  kind: 'osv',
  description: 'OSV vulnerability records (Ubuntu, Debian, AlmaLinux, GitHub npm/PyPI, …): a file, a directory of files, a JSON array, or a zip export',
  fileExtensions: ['.json', '.zip'],
  async parse(documents, context): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    for (const document of documents) {
      if (!isZip(document.body)) {
        readOsvDocument(document.location, document.body, advisories, errors);
        continue;
      }
      const zip = readZip(document.body, { maxBytes: context.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES, wanted: (name) => name.toLowerCase().endsWith('.json') });
      if (!zip.ok) {
        errors.push({ location: document.location, scope: 'document', message: zip.message });
        continue;
      }
      for (const entry of zip.entries) readOsvDocument(`${document.location}!/${entry.name}`, entry.body, advisories, errors, true);
    }
    return { advisories, errors };
  },
};
