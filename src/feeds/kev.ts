import { z } from 'zod';
import type { AdvisoryInput } from '../core/types.js';
import { cveFromAlias, describeSchemaError, readJsonDocument, toIsoOrNull } from './shared/documents.js';
import type { FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

const KevCatalogSchema = z
  .object({
    catalogVersion: z.string().optional(),
    vulnerabilities: z.array(z.unknown()),
  })
  .passthrough();

const KevEntrySchema = z
  .object({
    cveID: z.string().refine((value) => cveFromAlias(value) !== null, 'expected a CVE id such as CVE-2024-1234'),
    vendorProject: z.string().default(''),
    product: z.string().default(''),
    vulnerabilityName: z.string().default(''),
    dateAdded: z.string(),
    shortDescription: z.string().default(''),
    requiredAction: z.string().default(''),
    dueDate: z.string().nullish(),
    knownRansomwareCampaignUse: z.string().default('Unknown'),
    notes: z.string().optional(),
  })
  .passthrough();

type KevEntry = z.infer<typeof KevEntrySchema>;

function toAdvisory(entry: KevEntry): AdvisoryInput {
  const cve = cveFromAlias(entry.cveID)!;
  return {
    id: `KEV-${cve}`,
    source: 'kev',
    trust: 'authoritative',
    title: entry.vulnerabilityName.trim() || `${cve} (known exploited)`,
    summary: entry.shortDescription.trim(),
    url: `https://nvd.nist.gov/vuln/detail/${cve}`,
    publishedAt: toIsoOrNull(entry.dateAdded),
    modifiedAt: null,
    withdrawnAt: null,
    cves: [cve],
    affected: [],
    cvss: null,
    kev: {
      dateAdded: entry.dateAdded,
      dueDate: entry.dueDate ?? null,
      knownRansomwareCampaignUse: entry.knownRansomwareCampaignUse.trim().toLowerCase() === 'known',
      requiredAction: entry.requiredAction,
      vendor: entry.vendorProject,
      product: entry.product,
    },
    vendorSeverity: null,
  };
}

/** CISA Known Exploited Vulnerabilities catalog (the whole JSON file). One advisory per CVE: `KEV-<cveID>`. */
export const kevFeed: FeedPlugin = {
  kind: 'kev',
  description: 'CISA Known Exploited Vulnerabilities catalog (JSON)',
  fileExtensions: ['.json'],
  async parse(documents): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    for (const document of documents) {
      const read = readJsonDocument(document.location, document.body);
      if (!read.ok) {
        errors.push(read.error);
        continue;
      }
      const catalog = KevCatalogSchema.safeParse(read.value);
      if (!catalog.success) {
        errors.push({
          location: document.location,
          scope: 'document',
          message: `is not a CISA KEV catalog: ${describeSchemaError(catalog.error)}`,
        });
        continue;
      }
      catalog.data.vulnerabilities.forEach((raw, index) => {
        const entry = KevEntrySchema.safeParse(raw);
        if (!entry.success) {
          const cve = (raw as { cveID?: unknown } | null)?.cveID;
          errors.push({
            location: `${document.location}: vulnerabilities[${index}]${typeof cve === 'string' ? ` (${cve})` : ''}`,
            scope: 'record',
            message: describeSchemaError(entry.error),
          });
          return;
        }
        advisories.push(toAdvisory(entry.data));
      });
    }
    return { advisories, errors };
  },
};
