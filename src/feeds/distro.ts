import Parser from 'rss-parser';
import { z } from 'zod';
import type { AdvisoryInput } from '../core/types.js';
import { isDebianAdvisoryList, isDebianTrackerJson, parseDebianAdvisoryList, parseDebianTrackerJson } from './shared/debian.js';
import { describeSchemaError, readJsonDocument, toIsoOrNull, unique } from './shared/documents.js';
import { isUsnJson, parseUsnJson } from './shared/usn.js';
import type { FeedDocument, FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

const CVE_IN_TEXT = /CVE-\d{4}-\d{4,}/gi;
const SUMMARY_LIMIT = 2000;
/** `USN-7758-4:  Linux kernel (Oracle) vulnerability` (the live feed has a double space in one title). */
const USN_TITLE = /^(USN-\d+-\d+):\s*(.*)$/;
/** `ALAS-2018-1106 (medium): 389-ds-base`: id, Amazon's severity word and the package, all in the title. */
const ALAS_TITLE = /^(ALAS\d*-\d{4}-\d+)\s*\(([A-Za-z]+)\):\s*(.+)$/;

/** The item fields this plugin reads; everything else rss-parser returns is kept and ignored. */
const NoticeItemSchema = z
  .object({
    title: z.string().min(1, 'has no title'),
    link: z.string().optional(),
    guid: z.string().optional(),
    isoDate: z.string().optional(),
    pubDate: z.string().optional(),
    content: z.string().optional(),
    contentSnippet: z.string().optional(),
    summary: z.string().optional(),
  })
  .passthrough();
type NoticeItem = z.infer<typeof NoticeItemSchema>;

function collapse(text: string | undefined): string {
  return (text ?? '').replace(/\s+/g, ' ').trim();
}

function stripTags(html: string): string {
  return collapse(html.replace(/<[^>]*>/g, ' ').replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

/** The feeds are UTF-8; the live USN feed starts with a newline before `<?xml`, which strict parsers refuse. */
function decodeFeed(body: Buffer): string {
  return body.toString('utf8').replace(/^\uFEFF/, '').trimStart();
}

/**
 * The retired usn.ubuntu.com Atom feed lists fixed source versions per release in HTML
 * (`<dt>Ubuntu 18.04 LTS</dt><dd><a>bind9</a> - <a>1:9.11.3+dfsg-1ubuntu1.5</a></dd>`). They are kept as
 * text for the reader, never as match data (see the plugin's trust note).
 */
function fixedVersionsText(html: string): string[] {
  const lines: string[] = [];
  const pattern = /<dt>([^<]+)<\/dt>\s*<dd>([\s\S]*?)<\/dd>/g;
  for (const match of html.matchAll(pattern)) {
    lines.push(`${collapse(match[1])}: ${stripTags(match[2]!).replace(/ - /g, ' ')}`);
  }
  return lines;
}

function mentionedCves(texts: (string | undefined)[]): string[] {
  return unique(texts.flatMap((text) => text?.match(CVE_IN_TEXT) ?? []).map((cve) => cve.toUpperCase()));
}

function truncate(text: string): string {
  return text.length > SUMMARY_LIMIT ? `${text.slice(0, SUMMARY_LIMIT - 1)}…` : text;
}

/** Amazon Linux product from the notice URL: `/AL2/ALAS-…` is Amazon Linux 2, `/AL2023/` 2023, none the original AMI. */
function amazonProduct(link: string): string {
  const folder = /amazon\.com\/(AL[0-9]+)\//i.exec(link)?.[1];
  return folder === undefined ? 'AMI' : folder.toUpperCase();
}

function toNotice(item: NoticeItem): AdvisoryInput | string {
  const title = collapse(item.title);
  const link = collapse(item.link) || collapse(item.guid);
  const text = collapse(item.contentSnippet ?? item.summary);
  const base = {
    source: 'distro',
    // See the plugin comment: the vendor's own notice, but never a source of matches.
    trust: 'authoritative' as const,
    url: link || null,
    publishedAt: toIsoOrNull(item.isoDate ?? item.pubDate),
    modifiedAt: null,
    withdrawnAt: null,
    affected: [],
    cvss: null,
    kev: null,
  };
  const usn = USN_TITLE.exec(title);
  if (usn) {
    const fixed = item.content === undefined ? [] : fixedVersionsText(item.content);
    // Fixed versions first, so truncating a long notice never cuts them.
    const summary = [fixed.length > 0 ? `Fixed source versions: ${fixed.join('; ')}.` : '', text].filter(Boolean).join(' ');
    return {
      ...base,
      id: `NOTICE-${usn[1]}`,
      title: `${usn[1]}: ${usn[2]}`,
      summary: truncate(summary),
      cves: mentionedCves([item.title, item.content, item.contentSnippet, item.summary]),
      vendorSeverity: null,
    };
  }
  const alas = ALAS_TITLE.exec(title);
  if (alas) {
    const product = amazonProduct(link);
    const productName = `Amazon Linux ${product === 'AMI' ? 'AMI' : product.slice(2)}`;
    const [, id, severity, pkg] = alas;
    return {
      ...base,
      id: `NOTICE-${product}-${id}`,
      title: `${id} (${severity!.toLowerCase()}): ${pkg} [${productName}]`,
      summary: truncate(`${productName} package ${pkg} has a security update (${severity!.toLowerCase()}). ${text}`.trim()),
      cves: mentionedCves([item.title, item.contentSnippet, item.summary, item.content]),
      vendorSeverity: severity!.toLowerCase(),
    };
  }
  return `title "${title}" is neither a USN ("USN-1234-1: …") nor an ALAS notice ("ALAS-2018-1106 (medium): package")`;
}

/** RSS/Atom notices of one document into `advisories`. */
async function readNoticeFeed(document: FeedDocument, parser: Parser, advisories: AdvisoryInput[], errors: FeedParseError[]): Promise<void> {
  let feed: Awaited<ReturnType<Parser['parseString']>>;
  try {
    feed = await parser.parseString(decodeFeed(document.body));
  } catch (error) {
    errors.push({ location: document.location, scope: 'document', message: `is not a readable RSS or Atom feed: ${collapse((error as Error).message)}` });
    return;
  }
  feed.items.forEach((raw, index) => {
    const location = `${document.location}: item ${index + 1}`;
    const item = NoticeItemSchema.safeParse(raw);
    if (!item.success) {
      errors.push({ location, scope: 'record', message: describeSchemaError(item.error) });
      return;
    }
    const notice = toNotice(item.data);
    if (typeof notice === 'string') errors.push({ location, scope: 'record', message: notice });
    else advisories.push(notice);
  });
}

/** A JSON document: one USN in Ubuntu's USN JSON, a JSON array of them, or the Debian security tracker's JSON. */
function readJsonNotices(document: FeedDocument, advisories: AdvisoryInput[], errors: FeedParseError[]): void {
  const read = readJsonDocument(document.location, document.body);
  if (!read.ok) {
    errors.push(read.error);
    return;
  }
  const value = read.value;
  if (isDebianTrackerJson(value)) {
    const result = parseDebianTrackerJson(document.location, value);
    advisories.push(...result.advisories);
    errors.push(...result.errors);
    return;
  }
  const notices = Array.isArray(value) ? value : [value];
  if (!notices.every(isUsnJson)) {
    errors.push({
      location: document.location,
      scope: 'document',
      message: 'is neither a USN JSON notice ({"id": "USN-…", "releases": …}) nor the Debian security tracker JSON (package → CVE → releases)',
    });
    return;
  }
  notices.forEach((notice, index) => {
    const result = parseUsnJson(Array.isArray(value) ? `${document.location}[${index}]` : document.location, notice);
    if (result.advisory !== null) advisories.push(result.advisory);
    errors.push(...result.errors);
  });
}

/**
 * Distribution security notices, in the form each distribution publishes them:
 * - Ubuntu USN and Amazon Linux ALAS RSS/Atom feeds: one advisory per notice, id `NOTICE-<USN id>` or
 *   `NOTICE-<AL2|AL2023|AMI>-<ALAS id>`. The feeds carry no machine-readable fixed versions (the
 *   retired USN Atom feed has them only as HTML, without binary names), so these notices have no
 *   `affected` entries: they corroborate OSV records and other notices about the same CVEs and never
 *   create an exposure. Fixed versions a feed shows go into the summary, as text.
 * - Ubuntu's USN JSON (`usn/<n>-<m>.json`), Debian's advisory lists (`data/DSA/list`, `data/DLA/list`)
 *   and the Debian security tracker JSON: fixed versions per release, so every fix is an `affected`
 *   entry in that release's ecosystem (`Ubuntu:22.04:LTS`, `Ubuntu:Pro:14.04:LTS`, `Debian:12`) and hosts
 *   are matched on it. Ids are the distribution's own (`USN-4154-1`, `DSA-5970-1`, `DEBIAN-CVE-2022-0456`),
 *   the same as the OSV copies of these documents: the distribution's record is the more authoritative
 *   one (see `core/cve-merge.ts` `replacementRefusal`), so one advisory (and one case) per document.
 * Red Hat errata come as CSAF (`csaf` kind); AlmaLinux and Rocky Linux publish OSV (`osv` kind).
 * The vendor's own word, so `authoritative`.
 */
export const distroFeed: FeedPlugin = {
  kind: 'distro',
  description:
    'distribution security notices: Ubuntu USN (RSS/Atom, USN JSON), Debian DSA/DLA lists and security tracker JSON, Amazon Linux ALAS RSS; fixed versions per release where published',
  fileExtensions: ['.xml', '.rss', '.atom', '.json', '.txt', 'list'],
  async parse(documents): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    const parser = new Parser();
    for (const document of documents) {
      const start = decodeFeed(document.body.subarray(0, 256));
      if (start.startsWith('{') || start.startsWith('[{') || /^\[\s*[{\]]/.test(start)) {
        readJsonNotices(document, advisories, errors);
      } else if (isDebianAdvisoryList(start)) {
        const result = parseDebianAdvisoryList(document.location, document.body.toString('utf8'));
        advisories.push(...result.advisories);
        errors.push(...result.errors);
      } else {
        await readNoticeFeed(document, parser, advisories, errors);
      }
    }
    return { advisories, errors };
  },
};
