import type { AdvisoryInput } from '../core/types.js';

/** One document as read from a file or fetched from a URL. */
export interface FeedDocument {
  /** File path or URL, used in every error message about this document. */
  location: string;
  body: Buffer;
}

export interface FeedParseError {
  /** The document, or a record inside it (`file.json#3`, `file.json: CVE-2024-1234`). */
  location: string;
  message: string;
  /**
   * `document`: the whole document was unreadable and nothing in it was imported;
   * `record`: one record was skipped and the rest of its document imported.
   */
  scope: 'document' | 'record';
}

export interface FeedParseResult {
  advisories: AdvisoryInput[];
  errors: FeedParseError[];
}

export interface FeedParseContext {
  /** The feed's name (config `feeds[].name` or `--name`); RSS hint ids are derived from it. */
  feedName: string;
}

/**
 * A feed plugin turns raw documents into normalised advisories. It never throws for bad input:
 * it reports each unreadable document or record in `errors` and returns what it could read.
 */
export interface FeedPlugin {
  kind: string;
  description: string;
  /** File name endings a directory read picks up for this kind (`.json`). */
  fileExtensions: readonly string[];
  parse(documents: FeedDocument[], context: FeedParseContext): Promise<FeedParseResult>;
}
