import Parser from 'rss-parser';
import { z } from 'zod';
import type { AdvisoryInput } from '../core/types.js';
import { describeSchemaError, toIsoOrNull, unique } from './shared/documents.js';
import type { FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

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

/**
 * Distribution security notices published as RSS/Atom: Ubuntu USN (current RSS and the retired Atom
 * feed) and Amazon Linux ALAS. One advisory per notice, id `NOTICE-<USN id>` or `NOTICE-<AL2|AL2023|AMI>-<ALAS id>`,
 * so it never overwrites the OSV record of the same USN.
 *
 * Trust: the notices come from the vendor itself and name its own advisory id, severity (ALAS) and
 * package, so they are `authoritative` and their CVE links corroborate an OSV record about the same
 * CVEs or id. But the feeds carry no machine-readable affected or fixed versions (the retired Atom
 * feed has them only as HTML, without binary package names), so `affected` is always empty: a notice
 * alone can never produce an exposure. Fixed versions, when the feed shows them, go into the summary.
 */
export const distroFeed: FeedPlugin = {
  kind: 'distro',
  description: 'distribution security notices (Ubuntu USN RSS/Atom, Amazon Linux ALAS RSS): vendor notices linked to CVEs, never matched to hosts',
  fileExtensions: ['.xml', '.rss', '.atom'],
  async parse(documents): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    const parser = new Parser();
    for (const document of documents) {
      let feed: Awaited<ReturnType<typeof parser.parseString>>;
      try {
        feed = await parser.parseString(decodeFeed(document.body));
      } catch (error) {
        errors.push({ location: document.location, scope: 'document', message: `is not a readable RSS or Atom feed: ${collapse((error as Error).message)}` });
        continue;
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
    return { advisories, errors };
  },
};
