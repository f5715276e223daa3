import { z } from 'zod';
import type { AdvisoryInput, AdvisoryProduct, AdvisoryRemediation, AdvisoryThreat, AffectedPackage } from '../core/types.js';
import { cveFromAlias, describeSchemaError, toIsoOrNull, unique } from './shared/documents.js';
import { attributeOf, createSafeXmlParser, textOf, unescapeXml } from './shared/xml.js';
import type { FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

/** Elements that repeat; fast-xml-parser makes them arrays even when a document has only one. */
const ARRAY_TAGS = ['Vulnerability', 'Note', 'Status', 'ProductID', 'Threat', 'ScoreSet', 'Remediation', 'Revision', 'Branch', 'FullProductName'];
const SUMMARY_LIMIT = 2000;
/** MSRC severity words, lowest first. */
const SEVERITY_ORDER = ['low', 'moderate', 'important', 'critical'];
const REMEDIATION_CATEGORIES: Record<string, string> = {
  'vendor fix': 'vendor_fix',
  workaround: 'workaround',
  mitigation: 'mitigation',
  'will not fix': 'no_fix_planned',
  'none available': 'none_available',
  'known issue': 'known_issue',
};

const nodes = z.array(z.unknown()).optional();
const VulnerabilitySchema = z
  .object({
    Title: z.unknown().optional(),
    CVE: z.unknown(),
    Notes: z.object({ Note: nodes }).passthrough().or(z.literal('')).optional(),
    ProductStatuses: z.object({ Status: nodes }).passthrough().or(z.literal('')).optional(),
    Threats: z.object({ Threat: nodes }).passthrough().or(z.literal('')).optional(),
    CVSSScoreSets: z.object({ ScoreSet: nodes }).passthrough().or(z.literal('')).optional(),
    Remediations: z.object({ Remediation: nodes }).passthrough().or(z.literal('')).optional(),
    RevisionHistory: z.object({ Revision: nodes }).passthrough().or(z.literal('')).optional(),
  })
  .passthrough();
type Vulnerability = z.infer<typeof VulnerabilitySchema>;

const CvrfSchema = z
  .object({
    cvrfdoc: z
      .object({
        DocumentTitle: z.unknown().optional(),
        ProductTree: z.record(z.string(), z.unknown()).optional(),
        Vulnerability: z.array(z.unknown()).optional(),
      })
      .passthrough(),
  })
  .passthrough();

type XmlNode = Record<string, unknown>;

function list(container: unknown, key: string): XmlNode[] {
  if (container === null || typeof container !== 'object') return [];
  const value = (container as XmlNode)[key];
  return Array.isArray(value) ? (value.filter((v) => v !== null && typeof v === 'object') as XmlNode[]) : [];
}

/** Element text with the predefined entities decoded (the parser leaves them escaped), trimmed. */
function text(node: unknown): string {
  return unescapeXml(textOf(node)).trim();
}

function productIdsOf(node: XmlNode): string[] {
  const ids = node.ProductID;
  return Array.isArray(ids) ? ids.map(text).filter((id) => id !== '') : [];
}

/** CVRF dates carry no zone (`2023-11-14T08:00:00`); MSRC means UTC. */
function cvrfDate(text: string): string | null {
  const trimmed = text.trim();
  return toIsoOrNull(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(trimmed) ? `${trimmed}Z` : trimmed);
}

/** Product id → name from the product tree, at any depth. */
function productNames(tree: unknown): Map<string, string> {
  const names = new Map<string, string>();
  const walk = (node: unknown, depth: number) => {
    if (depth > 20) return;
    for (const product of list(node, 'FullProductName')) names.set(attributeOf(product, 'ProductID'), text(product));
    for (const branch of list(node, 'Branch')) walk(branch, depth + 1);
  };
  walk(tree, 0);
  return names;
}

function htmlToText(html: string): string {
  return unescapeXml(unescapeXml(html).replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

/** Impact and Severity threats repeat once per product: one entry per (type, text), product ids merged. */
function threatsOf(vulnerability: Vulnerability): AdvisoryThreat[] {
  const merged = new Map<string, AdvisoryThreat>();
  for (const threat of list(vulnerability.Threats, 'Threat')) {
    const category = attributeOf(threat, 'Type').trim().toLowerCase().replace(/\s+/g, '_');
    const details = text(threat.Description);
    const key = `${category}\u0000${details}`;
    const entry = merged.get(key) ?? { category, details, productIds: [] };
    entry.productIds = unique([...entry.productIds, ...productIdsOf(threat)]);
    merged.set(key, entry);
  }
  // Chrome entries repeat Impact and Severity with no text: nothing to keep.
  return [...merged.values()].filter((threat) => threat.details !== '');
}

function remediationsOf(vulnerability: Vulnerability): AdvisoryRemediation[] {
  return list(vulnerability.Remediations, 'Remediation').map((remediation) => {
    const type = attributeOf(remediation, 'Type').trim();
    const description = text(remediation.Description);
    const kb = /^(?:KB)?(\d{6,8})$/i.exec(description)?.[1];
    const optional = (value: unknown) => text(value) || null;
    return {
      category: REMEDIATION_CATEGORIES[type.toLowerCase()] ?? type.toLowerCase().replace(/\s+/g, '_'),
      details: description,
      url: optional(remediation.URL),
      productIds: productIdsOf(remediation),
      kb: kb === undefined ? null : `KB${kb}`,
      supercedence: optional(remediation.Supercedence),
      restartRequired: optional(remediation.RestartRequired),
      fixedBuild: optional(remediation.FixedBuild),
    };
  });
}

/** The highest base score over the per-product score sets, with its vector. */
function cvssOf(vulnerability: Vulnerability): AdvisoryInput['cvss'] {
  let best: { score: number; vector: string | null } | null = null;
  for (const set of list(vulnerability.CVSSScoreSets, 'ScoreSet')) {
    const score = Number(text(set.BaseScore));
    if (text(set.BaseScore) === '' || !Number.isFinite(score)) continue;
    if (best === null || score > best.score) best = { score, vector: text(set.Vector) || null };
  }
  return best;
}

function severityOf(threats: AdvisoryThreat[]): string | null {
  let best = -1;
  let word: string | null = null;
  for (const threat of threats) {
    if (threat.category !== 'severity') continue;
    const rank = SEVERITY_ORDER.indexOf(threat.details.toLowerCase());
    if (rank > best) {
      best = rank;
      word = threat.details;
    }
  }
  return word;
}

function toAdvisory(vulnerability: Vulnerability, cve: string, names: Map<string, string>): AdvisoryInput {
  const notes = list(vulnerability.Notes, 'Note');
  // Many Microsoft entries leave the Description note empty; the first FAQ then says the most.
  const texts = ['Description', 'FAQ'].flatMap((type) => notes.filter((n) => attributeOf(n, 'Type') === type).map((n) => htmlToText(textOf(n))));
  const summary = texts.find((text) => text !== '') ?? '';
  const revisions = list(vulnerability.RevisionHistory, 'Revision')
    .map((r) => cvrfDate(text(r.Date)))
    .filter((d): d is string => d !== null)
    .sort();
  const threats = threatsOf(vulnerability);
  const remediations = remediationsOf(vulnerability);
  const affected: AffectedPackage[] = unique(remediations.filter((r) => r.category === 'vendor_fix' && r.kb).map((r) => r.kb!)).map((kb) => ({
    ecosystem: 'Windows',
    name: kb,
    binaries: [],
    ranges: [],
    versions: [],
  }));
  const statuses = new Map<string, Set<string>>();
  for (const status of list(vulnerability.ProductStatuses, 'Status')) {
    const word = attributeOf(status, 'Type').trim().toLowerCase().replace(/\s+/g, '_');
    for (const id of productIdsOf(status)) statuses.set(id, (statuses.get(id) ?? new Set()).add(word));
  }
  const products: AdvisoryProduct[] = [...statuses].map(([id, status]) => ({ id, name: names.get(id) ?? '', cpe: null, purl: null, status: [...status] }));
  return {
    id: `MSRC-${cve}`,
    source: 'msrc',
    trust: 'authoritative',
    title: text(vulnerability.Title) || cve,
    summary: summary.length > SUMMARY_LIMIT ? `${summary.slice(0, SUMMARY_LIMIT - 1)}…` : summary,
    url: `https://msrc.microsoft.com/update-guide/vulnerability/${cve}`,
    publishedAt: revisions[0] ?? null,
    modifiedAt: revisions.at(-1) ?? null,
    withdrawnAt: null,
    cves: [cve],
    affected,
    cvss: cvssOf(vulnerability),
    kev: null,
    vendorSeverity: severityOf(threats),
    remediations,
    threats,
    products,
  };
}

/**
 * Microsoft Security Update Guide CVRF 1.1 documents (one per month, XML). One advisory per
 * vulnerability, `MSRC-<CVE>`, Chrome and Mariner CVEs included as the document lists them. Vendor Fix
 * remediations name KB articles: each becomes an affected entry `Windows`/`KB…`, with Supercedence,
 * RestartRequired and FixedBuild kept in the remediation. Parsed with entity expansion off. Trust:
 * authoritative; MSRC publishes no signatures, so the vendor's API (or the operator's copy) is the source.
 */
export const msrcFeed: FeedPlugin = {
  kind: 'msrc',
  description: 'Microsoft Security Update Guide CVRF 1.1 monthly document (XML): one advisory per CVE with KB numbers',
  fileExtensions: ['.xml'],
  async parse(documents): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    const parser = createSafeXmlParser(ARRAY_TAGS);
    for (const document of documents) {
      let tree: unknown;
      try {
        tree = parser.parse(document.body.toString('utf8').replace(/^\uFEFF/, ''), true);
      } catch (error) {
        errors.push({ location: document.location, scope: 'document', message: `is not readable XML: ${(error as Error).message}` });
        continue;
      }
      const cvrf = CvrfSchema.safeParse(tree);
      if (!cvrf.success) {
        errors.push({ location: document.location, scope: 'document', message: `is not a CVRF document: ${describeSchemaError(cvrf.error)}` });
        continue;
      }
      const names = productNames(cvrf.data.cvrfdoc.ProductTree);
      (cvrf.data.cvrfdoc.Vulnerability ?? []).forEach((raw, index) => {
        const where = `${document.location}: Vulnerability[${index}]`;
        const parsed = VulnerabilitySchema.safeParse(raw);
        if (!parsed.success) {
          errors.push({ location: where, scope: 'record', message: describeSchemaError(parsed.error) });
          return;
        }
        const cve = cveFromAlias(text(parsed.data.CVE));
        if (cve === null) {
          errors.push({ location: where, scope: 'record', message: `CVE: "${text(parsed.data.CVE)}" is not a CVE id` });
          return;
        }
        advisories.push(toAdvisory(parsed.data, cve, names));
      });
    }
    return { advisories, errors };
  },
};
