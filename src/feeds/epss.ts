import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { EpssScoreInput } from '../core/types.js';
import { describeSchemaError } from './shared/documents.js';
import type { FeedDocument, FeedParseError, FeedParseResult, FeedPlugin } from './types.js';

/** When the caller gives no limit: far above a real EPSS file (about 10 MB unpacked). */
const DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024;

/** A decimal in any precision, also in exponent notation (`1.2e-05`), as EPSS writes small scores. */
const DECIMAL = /^[+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const probability = z
  .string()
  .regex(DECIMAL, 'expected a number such as 0.0123 or 1.2e-05')
  .transform(Number)
  .pipe(z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'));

const EpssRowSchema = z
  .object({
    cve: z
      .string()
      .regex(/^CVE-\d{4}-\d{4,}$/i, 'expected a CVE id such as CVE-2024-1234')
      .transform((cve) => cve.toUpperCase()),
    epss: probability,
    percentile: probability,
  })
  .passthrough();

/** The CSV text of a document, unpacked when it is gzip (magic bytes 1f 8b); or why it cannot be read. */
function unpack(document: FeedDocument, maxBytes: number): { text: string } | { error: string } {
  let bytes = document.body;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return {
        error:
          code === 'ERR_BUFFER_TOO_LARGE'
            ? `unpacks to more than ${maxBytes} bytes (config fetch.maxBytes)`
            : `is not a readable gzip file (${(error as Error).message})`,
      };
    }
  }
  return { text: bytes.toString('utf8').replace(/^\uFEFF/, '') };
}

/** `#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z` as its fields. */
function readComment(line: string): { modelVersion: string | null; scoreDate: string | null } {
  const fields = new Map<string, string>();
  for (const part of line.replace(/^#/, '').split(',')) {
    const colon = part.indexOf(':');
    if (colon > 0) fields.set(part.slice(0, colon).trim().toLowerCase(), part.slice(colon + 1).trim());
  }
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(fields.get('score_date') ?? '');
  return { modelVersion: fields.get('model_version') || null, scoreDate: date ? date[1]! : null };
}

function parseDocument(document: FeedDocument, maxBytes: number, scores: Map<string, EpssScoreInput>, errors: FeedParseError[]): void {
  const where = document.location;
  const unpacked = unpack(document, maxBytes);
  if ('error' in unpacked) {
    errors.push({ location: where, message: unpacked.error, scope: 'document' });
    return;
  }
  const lines = unpacked.text.split(/\r?\n/);
  let index = 0;
  let meta: { modelVersion: string | null; scoreDate: string | null } = { modelVersion: null, scoreDate: null };
  while (index < lines.length && lines[index]!.startsWith('#')) meta = { ...meta, ...definedOnly(readComment(lines[index++]!)) };
  // Files without the comment line (before 2022) are dated by their name: epss_scores-2021-04-14.csv.gz.
  const scoreDate = meta.scoreDate ?? /(\d{4}-\d{2}-\d{2})/.exec(where.split(/[\\/]/).pop() ?? '')?.[1] ?? null;
  if (scoreDate === null) {
    errors.push({
      location: where,
      message: 'has no score date: line 1 should read like "#model_version:v2025.03.14,score_date:2025-03-14T00:00:00Z" (or name the file epss_scores-YYYY-MM-DD.csv)',
      scope: 'document',
    });
    return;
  }
  const headerLine = lines[index];
  const header = (headerLine ?? '').split(',').map((h) => h.trim().toLowerCase());
  if (!['cve', 'epss', 'percentile'].every((column) => header.includes(column))) {
    errors.push({
      location: `${where}:${index + 1}`,
      message: `is not an EPSS header: expected the columns cve,epss,percentile, found "${(headerLine ?? '').slice(0, 80)}"`,
      scope: 'document',
    });
    return;
  }
  for (let i = index + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const cells = line.split(',');
    const row = Object.fromEntries(header.map((column, c) => [column, (cells[c] ?? '').trim()]));
    const parsed = EpssRowSchema.safeParse(row);
    if (!parsed.success) {
      errors.push({ location: `${where}:${i + 1}`, message: `${describeSchemaError(parsed.error)} (in "${line.slice(0, 80)}")`, scope: 'record' });
      continue;
    }
    const { cve, epss, percentile } = parsed.data;
    scores.set(cve, { cve, epss, percentile, scoreDate, modelVersion: meta.modelVersion });
  }
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as Partial<T>;
}

/**
 * FIRST EPSS daily scores (`epss_scores-YYYY-MM-DD.csv.gz`, gzip or plain CSV): one score and
 * percentile per CVE for the day in the comment line. Gives EPSS facts, no advisories.
 */
export const epssFeed: FeedPlugin = {
  kind: 'epss',
  description: 'FIRST EPSS exploit prediction scores (CSV, gzip or plain): score and percentile per CVE',
  fileExtensions: ['.csv', '.csv.gz'],
  async parse(documents, context): Promise<FeedParseResult> {
    const scores = new Map<string, EpssScoreInput>();
    const errors: FeedParseError[] = [];
    for (const document of documents) parseDocument(document, context.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES, scores, errors);
    return { advisories: [], errors, epss: [...scores.values()] };
  },
};
