import type { ZodError } from 'zod';
import type { FeedParseError } from '../types.js';

export type JsonReadResult = { ok: true; value: unknown } | { ok: false; error: FeedParseError };

/**
 * Parses a JSON document, turning a syntax error into a message that names the document and
 * where it broke (line and column, or "ends early" for a truncated file).
 */
export function readJsonDocument(location: string, body: Buffer): JsonReadResult {
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: { location, scope: 'document', message: describeJsonError(text, (error as Error).message) } };
  }
}

function describeJsonError(text: string, message: string): string {
  if (text.trim() === '') return 'is empty, not JSON';
  const offset = jsonErrorOffset(text);
  if (offset === null) return `is not valid JSON: ${message}`;
  if (offset >= text.length) return `is not valid JSON: it ends early at position ${text.length} (truncated?)`;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `is not valid JSON at line ${line}, column ${column} (position ${offset}): unexpected ${JSON.stringify(text[offset])}`;
}

/**
 * Where JSON.parse gave up. V8's messages do not always carry a position, so after a failed parse
 * this small scanner walks the grammar and returns the offset of the first character that breaks it
 * (the text length when it ends early), or null when it cannot tell.
 */
function jsonErrorOffset(text: string): number | null {
  let i = 0;
  const fail = (): never => {
    throw new JsonSyntaxAt(i);
  };
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = () => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') fail();
      i += c === '\\' ? 2 : 1;
    }
    fail();
  };
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (close === '}') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    numberPattern.lastIndex = i;
    if (numberPattern.test(text)) {
      i = numberPattern.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    fail();
  };
  try {
    value();
    space();
    return i < text.length ? i : null;
  } catch (error) {
    if (error instanceof JsonSyntaxAt) return error.offset;
    // Nesting deep enough to exhaust the stack: give up on locating it.
    if (error instanceof RangeError) return null;
    throw error;
  }
}

class JsonSyntaxAt extends Error {
  constructor(readonly offset: number) {
    super(`JSON syntax error at ${offset}`);
  }
}

/** First schema problem as "field: message", the form every feed error uses. */
export function describeSchemaError(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'does not match the expected shape';
  const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  return `${field}: ${issue.message}`;
}

/** ISO 8601 UTC with milliseconds, or null for a missing or unreadable date. */
export function toIsoOrNull(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const date = new Date(value.trim());
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const CVE_PATTERN = /^(?:[A-Z]+-)?(CVE-\d{4}-\d{4,})$/i;

/**
 * A CVE id from an alias-like string: `CVE-2024-1`, or a distro-prefixed one such as
 * `UBUNTU-CVE-2024-1` / `DEBIAN-CVE-2024-1`. Other ids (GHSA-…, PYSEC-…) give null.
 */
export function cveFromAlias(value: string): string | null {
  const match = CVE_PATTERN.exec(value.trim());
  return match ? match[1]!.toUpperCase() : null;
}

/** Unique values in first-seen order. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}
