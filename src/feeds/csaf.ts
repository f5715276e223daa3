import { z } from 'zod';
import type {
  AdvisoryInput,
  AdvisoryProduct,
  AdvisoryProvenance,
  AdvisoryRemediation,
  AdvisoryThreat,
  AdvisoryTrust,
  AffectedPackage,
} from '../core/types.js';
import { collectCsaf } from './shared/csaf-provider.js';
import { pickCvss } from './shared/cvss.js';
import { cveFromAlias, describeSchemaError, readJsonDocument, toIsoOrNull, unique } from './shared/documents.js';
import type { FeedDocument, FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

const NoteSchema = z.object({ category: z.string().optional(), text: z.string().optional(), title: z.string().optional() }).passthrough();
const ReferenceSchema = z.object({ category: z.string().optional(), url: z.string().optional(), summary: z.string().optional() }).passthrough();
const ids = z.array(z.string()).optional();

const VulnerabilitySchema = z
  .object({
    cve: z.string().optional(),
    title: z.string().optional(),
    notes: z.array(NoteSchema).optional(),
    product_status: z.record(z.string(), z.array(z.string())).optional(),
    scores: z
      .array(
        z
          .object({
            products: ids,
            cvss_v2: z.object({ vectorString: z.string().optional(), baseScore: z.number().optional() }).passthrough().optional(),
            cvss_v3: z.object({ vectorString: z.string().optional(), baseScore: z.number().optional() }).passthrough().optional(),
            cvss_v4: z.object({ vectorString: z.string().optional(), baseScore: z.number().optional() }).passthrough().optional(),
          })
          .passthrough(),
      )
      .optional(),
    threats: z.array(z.object({ category: z.string(), details: z.string().optional(), product_ids: ids }).passthrough()).optional(),
    remediations: z
      .array(
        z
          .object({
            category: z.string(),
            details: z.string().optional(),
            url: z.string().optional(),
            product_ids: ids,
            restart_required: z.object({ category: z.string().optional() }).passthrough().optional(),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();

/** CSAF 2.0, read permissively: real documents are not always schema-clean (see test/fixtures/feeds/csaf). */
const CsafSchema = z
  .object({
    document: z
      .object({
        category: z.string().optional(),
        title: z.string().min(1),
        tracking: z
          .object({
            id: z.string().trim().min(1),
            initial_release_date: z.string().optional(),
            current_release_date: z.string().optional(),
            status: z.string().optional(),
          })
          .passthrough(),
        notes: z.array(NoteSchema).optional(),
        references: z.array(ReferenceSchema).optional(),
        aggregate_severity: z.object({ text: z.string() }).passthrough().optional(),
      })
      .passthrough(),
    // Branches nest to any depth; walked below with narrow checks.
    product_tree: z.record(z.string(), z.unknown()).optional(),
    vulnerabilities: z.array(VulnerabilitySchema).optional(),
  })
  .passthrough();

type CsafDocument = z.infer<typeof CsafSchema>;
type Vulnerability = z.infer<typeof VulnerabilitySchema>;

const ProductSchema = z
  .object({
    name: z.string().default(''),
    product_id: z.string().min(1),
    product_identification_helper: z.object({ cpe: z.string().optional(), purl: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

/**
 * A safe advisory id from a CSAF `tracking.id`: whitespace runs become `_` and any character outside
 * `A-Z a-z 0-9 . _ : + -` becomes `_`, so the id can sit in a URL path segment and a chat button
 * unescaped (`Schwarz Informatik-c1234` → `Schwarz_Informatik-c1234`; `RHSA-2025:0002` is kept).
 */
export function csafAdvisoryId(trackingId: string): string {
  return trackingId.trim().replace(/\s+/g, '_').replace(/[^A-Za-z0-9._:+-]/g, '_');
}

interface ProductInfo {
  id: string;
  name: string;
  cpe: string | null;
  purl: string | null;
}

/** Every product the tree names: branch leaves, `full_product_names`, and relationship products (which take the purl of their component and the CPE of their platform). */
function readProducts(tree: Record<string, unknown> | undefined): Map<string, ProductInfo> {
  const products = new Map<string, ProductInfo>();
  const add = (raw: unknown) => {
    const parsed = ProductSchema.safeParse(raw);
    if (!parsed.success) return;
    const helper = parsed.data.product_identification_helper;
    products.set(parsed.data.product_id, { id: parsed.data.product_id, name: parsed.data.name, cpe: helper?.cpe ?? null, purl: helper?.purl ?? null });
  };
  const walk = (branches: unknown, depth: number) => {
    // The CSAF schema allows 30 levels; a deeper tree is not worth following.
    if (!Array.isArray(branches) || depth > 30) return;
    for (const branch of branches as { product?: unknown; branches?: unknown; name?: unknown; category?: unknown }[]) {
      if (branch === null || typeof branch !== 'object') continue;
      if (branch.product !== undefined) add(branch.product);
      // A named leaf without a product (Schwarz Informatik's tree) still says what the vendor means; kept by name, without an id.
      else if (branch.branches === undefined && typeof branch.name === 'string' && branch.name.trim() !== '') {
        products.set(`\u0000${branch.name}`, { id: '', name: branch.name.trim(), cpe: null, purl: null });
      }
      walk(branch.branches, depth + 1);
    }
  };
  walk(tree?.branches, 0);
  if (Array.isArray(tree?.full_product_names)) for (const product of tree.full_product_names) add(product);
  if (Array.isArray(tree?.relationships)) {
    for (const raw of tree.relationships as Record<string, unknown>[]) {
      const parsed = ProductSchema.safeParse(raw?.full_product_name);
      if (!parsed.success) continue;
      const component = typeof raw.product_reference === 'string' ? products.get(raw.product_reference) : undefined;
      const platform = typeof raw.relates_to_product_reference === 'string' ? products.get(raw.relates_to_product_reference) : undefined;
      const helper = parsed.data.product_identification_helper;
      products.set(parsed.data.product_id, {
        id: parsed.data.product_id,
        name: parsed.data.name,
        cpe: helper?.cpe ?? platform?.cpe ?? component?.cpe ?? null,
        purl: helper?.purl ?? component?.purl ?? null,
      });
    }
  }
  return products;
}

/** purl types Patchdeck can match, and the ecosystem family they belong to (by purl namespace for distros). */
const DISTRO_BY_NAMESPACE: Record<string, string> = {
  redhat: 'Red Hat',
  almalinux: 'AlmaLinux',
  rocky: 'Rocky Linux',
  'rocky-linux': 'Rocky Linux',
  suse: 'SUSE',
  opensuse: 'openSUSE',
  debian: 'Debian',
  ubuntu: 'Ubuntu',
};
const LANGUAGE_ECOSYSTEMS: Record<string, string> = { npm: 'npm', pypi: 'PyPI' };

interface Purl {
  type: string;
  namespace: string;
  name: string;
  version: string;
  qualifiers: Map<string, string>;
}

/** `pkg:type/namespace/name@version?qualifiers#subpath`, percent-decoded; null when it is not a purl. */
export function parsePurl(text: string): Purl | null {
  const match = /^pkg:([A-Za-z.+-]+)\/([^?#@]+?)(?:@([^?#]+))?(?:\?([^#]*))?(?:#.*)?$/.exec(text.trim());
  if (!match) return null;
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const segments = match[2]!.split('/').filter(Boolean).map(decode);
  const name = segments.pop();
  if (name === undefined || match[3] === undefined) return null;
  const qualifiers = new Map<string, string>();
  for (const pair of (match[4] ?? '').split('&')) {
    const [key, value] = pair.split('=');
    if (key && value !== undefined) qualifiers.set(key.toLowerCase(), decode(value));
  }
  return { type: match[1]!.toLowerCase(), namespace: segments.join('/').toLowerCase(), name, version: decode(match[3]), qualifiers };
}

/** `cpe:/a:redhat:rhel_e4s:8.4::appstream` or `cpe:2.3:o:redhat:enterprise_linux:9:…` → `8` / `9`. */
function majorFromCpe(cpe: string | null): string | null {
  if (cpe === null) return null;
  const parts = cpe.startsWith('cpe:2.3:') ? cpe.split(':').slice(2) : cpe.replace(/^cpe:\//, '').split(':');
  return /^(\d+)/.exec(parts[3] ?? '')?.[1] ?? null;
}

function ecosystemOf(purl: Purl, cpe: string | null): string | null {
  if (purl.type === 'rpm' || purl.type === 'deb') {
    const family = DISTRO_BY_NAMESPACE[purl.namespace];
    if (family === undefined) return null;
    const major = majorFromCpe(cpe);
    return major === null ? family : `${family}:${major}`;
  }
  return LANGUAGE_ECOSYSTEMS[purl.type] ?? null;
}

const FIXED_STATUSES = new Set(['fixed', 'first_fixed']);
const AFFECTED_STATUSES = new Set(['known_affected', 'first_affected', 'last_affected']);

/**
 * Match data from products with a purl: a fixed product gives a range fixed at its version, an
 * affected one an exact version. Products without a usable purl stay in `products` by name only.
 */
function affectedPackages(products: Map<string, ProductInfo>, statuses: Map<string, Set<string>>): AffectedPackage[] {
  const byPackage = new Map<string, AffectedPackage>();
  for (const [id, status] of statuses) {
    const product = products.get(id);
    const purl = product?.purl ? parsePurl(product.purl) : null;
    if (!product || !purl) continue;
    const ecosystem = ecosystemOf(purl, product.cpe);
    if (ecosystem === null) continue;
    const epoch = purl.qualifiers.get('epoch');
    const version = purl.type === 'rpm' && epoch !== undefined && epoch !== '0' ? `${epoch}:${purl.version}` : purl.version;
    const key = `${ecosystem}\u0000${purl.name}`;
    const entry = byPackage.get(key) ?? { ecosystem, name: purl.name, binaries: [], ranges: [], versions: [] };
    byPackage.set(key, entry);
    if ([...status].some((s) => FIXED_STATUSES.has(s))) {
      if (!entry.ranges.some((r) => r.events.some((e) => e.fixed === version))) {
        entry.ranges.push({ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] });
      }
    } else if ([...status].some((s) => AFFECTED_STATUSES.has(s)) && !entry.versions.includes(version)) {
      entry.versions.push(version);
    }
  }
  return [...byPackage.values()].filter((p) => p.ranges.length > 0 || p.versions.length > 0);
}

const productIds = (list: string[] | undefined) => (list ?? []).filter((id) => id.trim() !== '');

function cvss(vulnerabilities: Vulnerability[]): AdvisoryInput['cvss'] {
  const scores = vulnerabilities.flatMap((v) => v.scores ?? []).flatMap((s) => [s.cvss_v3, s.cvss_v4, s.cvss_v2]);
  const picked = pickCvss(scores.flatMap((s) => (s?.vectorString ? [s.vectorString] : [])));
  if (picked?.score != null) return picked;
  const stated = scores.flatMap((s) => (typeof s?.baseScore === 'number' ? [s.baseScore] : []));
  return stated.length > 0 ? { score: Math.max(...stated), vector: picked?.vector ?? null } : picked;
}

function noteText(notes: z.infer<typeof NoteSchema>[] | undefined): string {
  const list = notes ?? [];
  for (const category of ['summary', 'description']) {
    const note = list.find((n) => n.category === category && n.text?.trim());
    if (note) return note.text!.trim();
  }
  return '';
}

/** Signed documents and ones the operator named on disk are authoritative; an unsigned document fetched from a URL is a hint. */
function trustOf(provenance: AdvisoryProvenance | undefined): AdvisoryTrust {
  if (provenance === undefined) return 'hint';
  return provenance.verification === 'signed' || provenance.origin === 'file' ? 'authoritative' : 'hint';
}

const REJECTED = /^\s*\*\*\s*REJECT(ED)?\s*\*\*/i;

/**
 * When the document withdraws its advisory: CSAF 2.1's `csaf_withdrawn` profile, or every CVE it is
 * about rejected (`** REJECT **` in the CVE's description, as CVE and NVD records mark them). The
 * time is the document's current release; null when it is not withdrawn (or gives no time).
 */
function withdrawnAt(csaf: CsafDocument): string | null {
  const vulnerabilities = csaf.vulnerabilities ?? [];
  const rejected =
    vulnerabilities.length > 0 && vulnerabilities.every((v) => (v.notes ?? []).some((n) => REJECTED.test(n.text ?? '') || REJECTED.test(n.title ?? '')));
  if (csaf.document.category !== 'csaf_withdrawn' && !rejected) return null;
  return toIsoOrNull(csaf.document.tracking.current_release_date) ?? toIsoOrNull(csaf.document.tracking.initial_release_date);
}

function toAdvisory(csaf: CsafDocument, provenance: AdvisoryProvenance | undefined): AdvisoryInput {
  const { document } = csaf;
  const vulnerabilities = csaf.vulnerabilities ?? [];
  const products = readProducts(csaf.product_tree);
  const statuses = new Map<string, Set<string>>();
  for (const vulnerability of vulnerabilities) {
    for (const [status, list] of Object.entries(vulnerability.product_status ?? {})) {
      for (const id of productIds(list)) statuses.set(id, (statuses.get(id) ?? new Set()).add(status));
    }
  }
  const threats: AdvisoryThreat[] = vulnerabilities.flatMap((v) =>
    (v.threats ?? []).map((t) => ({ category: t.category, details: t.details ?? '', productIds: productIds(t.product_ids) })),
  );
  const remediations: AdvisoryRemediation[] = vulnerabilities.flatMap((v) =>
    (v.remediations ?? []).map((r) => ({
      category: r.category,
      details: r.details ?? '',
      url: r.url ?? null,
      productIds: productIds(r.product_ids),
      restartRequired: r.restart_required?.category ?? null,
    })),
  );
  const namedProducts: AdvisoryProduct[] = [...products.values()].map((p) => ({ ...p, status: [...(statuses.get(p.id) ?? [])] }));
  const impact = threats.find((t) => t.category === 'impact' && t.details.trim() !== '')?.details.trim() ?? null;
  return {
    id: csafAdvisoryId(document.tracking.id),
    source: 'csaf',
    trust: trustOf(provenance),
    title: document.title.trim(),
    summary: noteText(document.notes) || noteText(vulnerabilities.flatMap((v) => v.notes ?? [])),
    url: document.references?.find((r) => r.category === 'self' && r.url)?.url ?? null,
    publishedAt: toIsoOrNull(document.tracking.initial_release_date),
    modifiedAt: toIsoOrNull(document.tracking.current_release_date),
    withdrawnAt: withdrawnAt(csaf),
    cves: unique(vulnerabilities.map((v) => (v.cve ? cveFromAlias(v.cve) : null)).filter((c): c is string => c !== null)),
    affected: affectedPackages(products, statuses),
    cvss: cvss(vulnerabilities),
    kev: null,
    vendorSeverity: document.aggregate_severity?.text.trim() || impact,
    remediations,
    threats,
    products: namedProducts,
    ...(provenance === undefined ? {} : { provenance }),
  };
}

function parseDocument(document: FeedDocument): { advisory: AdvisoryInput } | { error: FeedParseError } {
  const read = readJsonDocument(document.location, document.body);
  if (!read.ok) return { error: read.error };
  const parsed = CsafSchema.safeParse(read.value);
  if (!parsed.success) {
    return { error: { location: document.location, scope: 'document', message: `is not a CSAF document: ${describeSchemaError(parsed.error)}` } };
  }
  return { advisory: toAdvisory(parsed.data, document.provenance) };
}

/**
 * CSAF 2.0 advisories (https://docs.oasis-open.org/csaf/csaf/v2.0/): a provider directory or URL of
 * `provider-metadata.json`, a ROLIE feed, or plain documents. `collect` checks each document's hash
 * files and OpenPGP signature against the provider's listed keys and quarantines failures; `parse`
 * turns a document into one advisory with the id from `tracking.id` (see `csafAdvisoryId`).
 * Trust: a signed document is authoritative; an unsigned one is authoritative only when the operator
 * named the file on disk (their act vouches for it), and a hint when fetched from a provider without keys.
 */
export const csafFeed: FeedPlugin = {
  kind: 'csaf',
  description: 'CSAF 2.0 provider (provider-metadata.json → changes.csv or ROLIE) or documents, with hash and OpenPGP signature checks',
  fileExtensions: ['.json'],
  collect: collectCsaf,
  async parse(documents): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    for (const document of documents) {
      const result = parseDocument(document);
      if ('error' in result) errors.push(result.error);
      else advisories.push(result.advisory);
    }
    return { advisories, errors };
  },
};
