import type { AdvisoryInput, AdvisoryProvenance, EpssScoreInput } from '../core/types.js';

/** One document as read from a file or fetched from a URL. */
export interface FeedDocument {
  /** File path or URL, used in every error message about this document. */
  location: string;
  body: Buffer;
  /** What `collect` established about the document's authenticity (CSAF); absent for plain feeds. */
  provenance?: AdvisoryProvenance;
  /** When the source says the document last changed (CSAF `changes.csv`), stored to skip it next time. */
  stamp?: string;
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
  /** Facts about CVEs that are not advisories (FIRST EPSS); stored in their own table. */
  epss?: EpssScoreInput[];
}

export interface FeedParseContext {
  /** The feed's name (config `feeds[].name` or `--name`); RSS hint ids are derived from it. */
  feedName: string;
  /** Most bytes a document may expand to when the plugin decompresses it (config `fetch.maxBytes`). */
  maxBytes?: number;
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
  /**
   * Raise it when `parse` gives other advisories for the same bytes (a new field, a fixed mapping):
   * documents remembered from an older parser are parsed again instead of skipped. Absent: 1.
   */
  parserVersion?: number;
  parse(documents: FeedDocument[], context: FeedParseContext): Promise<FeedParseResult>;
  /**
   * Optional, for kinds whose source is a set of related files (a CSAF provider: metadata, keys,
   * documents with hash and signature files). When present the workflow calls it instead of reading
   * files by extension or fetching one URL, then parses `documents`; it throws a PatchdeckError only
   * when the source itself is unusable (no provider metadata, unreachable).
   */
  collect?(source: FeedSource, reader: FeedReader): Promise<FeedCollection>;
}

/** Where a feed run reads from: a file or directory the operator named, or a URL. */
export type FeedSource = { type: 'file'; path: string } | { type: 'url'; url: string };

/** Reading primitives the workflow lends to `collect`, with the configured size, time and redirect limits. */
export interface FeedReader {
  /** A file's bytes; null when there is no such file. */
  readFile(path: string): Promise<Buffer | null>;
  /** Files under `dir` ending in one of `extensions`, recursively, sorted, hidden entries skipped. */
  listFiles(dir: string, extensions: readonly string[]): Promise<string[]>;
  /** A URL's body; null when it answers 404 or 410. Other failures throw a PatchdeckError. */
  fetch(url: string): Promise<Buffer | null>;
  /** The workflow clock's time, for checks that depend on it (OpenPGP key expiry). */
  now: Date;
  /**
   * The `stamp` a document at `location` had when this feed last ingested it; null when it never was
   * (or a full run was asked for). A source listing a timestamp not newer need not read it again.
   */
  ingestedStamp(location: string): string | null;
}

/** Why a document was refused before parsing. Stable strings: they are stored and audited. */
export type QuarantineReason = 'hash_mismatch' | 'hash_unreadable' | 'signature_missing' | 'signature_invalid' | 'unknown_key';

/** A document that failed its authenticity checks: never parsed, stored in quarantine with an audit event. */
export interface QuarantinedDocument {
  location: string;
  reason: QuarantineReason;
  /** What exactly failed, for the operator (`sha256 is 5da3…, .sha256 says 0000…`). */
  detail: string;
  body: Buffer;
}

/** What `collect` gathered: documents that passed their checks, documents refused, and what could not be read. */
export interface FeedCollection {
  documents: FeedDocument[];
  quarantined: QuarantinedDocument[];
  /** Listed documents that could not be fetched or read (scope `document`). */
  errors: FeedParseError[];
  /** Listed documents not read because their listed timestamp is not newer than `ingestedStamp`. */
  unchanged?: string[];
}
