import { createHash } from 'node:crypto';
import Parser from 'rss-parser';
import type { AdvisoryInput } from '../core/types.js';
import { toIsoOrNull, unique } from './shared/documents.js';
import type { FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

const CVE_IN_TEXT = /CVE-\d{4}-\d{4,}/gi;
const SUMMARY_LIMIT = 1000;

/**
 * Decodes the bytes with the encoding the XML declaration names (SANS ISC declares iso-8859-1);
 * UTF-8 otherwise. The BOM and whitespace before the declaration (the Ubuntu USN feed starts
 * with a newline) are dropped.
 */
function decodeXml(body: Buffer): string {
  const head = body.subarray(0, 200).toString('latin1');
  const declared = /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase() ?? 'utf-8';
  let text: string;
  try {
    text = new TextDecoder(declared).decode(body);
  } catch {
    // An encoding label TextDecoder does not know: UTF-8 is the XML default.
    text = body.toString('utf8');
  }
  return text.replace(/^\uFEFF/, '').trimStart();
}

/** Feed fields as one line of text; anything that is not a string (an element with only attributes) is empty. */
function collapse(text: unknown): string {
  return typeof text === 'string' ? text.replace(/\s+/g, ' ').trim() : '';
}

function hintId(feedName: string, key: string): string {
  return `HINT-${createHash('sha256').update(`${feedName}\n${key}`).digest('hex').slice(0, 16)}`;
}

type FeedItem = Parser.Item & Record<string, unknown>;

function mentionedCves(item: FeedItem): string[] {
  const texts = [item.title, item.content, item.contentSnippet, item.summary, item['content:encoded']].filter(
    (t): t is string => typeof t === 'string',
  );
  return unique(texts.flatMap((text) => text.match(CVE_IN_TEXT) ?? []).map((cve) => cve.toUpperCase()));
}

/**
 * RSS 2.0 / RSS 1.0 / Atom news feeds (CISA/US-CERT, SANS ISC, Ubuntu USN, Amazon Linux ALAS).
 * Every item becomes an unverified hint (trust `hint`) linked to the CVE ids it mentions; its id is
 * `HINT-` and 16 hex digits of sha256(feed name, guid or link), so a re-read item keeps its id.
 * Parsing is rss-parser's `parseString` (xml2js): DTD entities are not expanded.
 */
export const rssFeed: FeedPlugin = {
  kind: 'rss',
  description: 'RSS/Atom security news (CISA, SANS ISC, Ubuntu USN, ALAS): each item is stored as an unverified hint',
  fileExtensions: ['.xml', '.rss', '.atom'],
  async parse(documents, context): Promise<FeedParseResult> {
    const advisories: AdvisoryInput[] = [];
    const errors: FeedParseError[] = [];
    const parser = new Parser();
    for (const document of documents) {
      let feed: Awaited<ReturnType<typeof parser.parseString>>;
      try {
        feed = await parser.parseString(decodeXml(document.body));
      } catch (error) {
        errors.push({
          location: document.location,
          scope: 'document',
          message: `is not a readable RSS or Atom feed: ${collapse((error as Error).message)}`,
        });
        continue;
      }
      feed.items.forEach((raw, index) => {
        const item = raw as FeedItem;
        const title = collapse(item.title);
        const link = collapse(item.link);
        const key = collapse(item.guid) || link || title;
        if (key === '') {
          errors.push({ location: `${document.location}: item ${index + 1}`, scope: 'record', message: 'has no guid, link or title to identify it' });
          return;
        }
        // Some feeds (SANS ISC) escape their HTML twice, so tags survive rss-parser's snippet, and
        // cut it mid-tag: a tag left open runs to the end of the text.
        const snippet = collapse(collapse(item.contentSnippet ?? item.summary).replace(/<\/?[a-z][^>]*(?:>|$)/gi, ' '));
        advisories.push({
          id: hintId(context.feedName, key),
          source: 'rss',
          trust: 'hint',
          title: title || key,
          summary: snippet.length > SUMMARY_LIMIT ? `${snippet.slice(0, SUMMARY_LIMIT - 1)}…` : snippet,
          url: link || null,
          publishedAt: toIsoOrNull(item.isoDate ?? item.pubDate),
          modifiedAt: null,
          withdrawnAt: null,
          cves: mentionedCves(item),
          affected: [],
          cvss: null,
          kev: null,
          vendorSeverity: null,
        });
      });
    }
    return { advisories, errors };
  },
};
