import { XMLParser } from 'fast-xml-parser';

/**
 * An XML parser for untrusted feeds: entity processing is off, so a DTD's entities (a "billion
 * laughs" bomb, an external entity) are never expanded; the predefined five stay escaped in text and
 * are decoded by `unescapeXml`. Namespace prefixes are dropped, attributes kept as `@_Name`, values
 * kept as strings (KB numbers and versions must not become numbers).
 */
export function createSafeXmlParser(arrayTags: readonly string[]): XMLParser {
  const arrays = new Set(arrayTags);
  return new XMLParser({
    processEntities: false,
    htmlEntities: false,
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => arrays.has(name),
  });
}

/** Decodes the five predefined XML entities and numeric references; nothing else. */
export function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (whole, name: string) => {
    if (name === 'lt') return '<';
    if (name === 'gt') return '>';
    if (name === 'quot') return '"';
    if (name === 'apos') return "'";
    if (name === 'amp') return '&';
    const code = name.startsWith('#x') ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Text of an element as fast-xml-parser returns it: a string, or `#text` of an element with attributes. */
export function textOf(node: unknown): string {
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (node !== null && typeof node === 'object' && '#text' in node) return textOf((node as { '#text': unknown })['#text']);
  return '';
}

/** An attribute of an element, or ''. */
export function attributeOf(node: unknown, name: string): string {
  if (node === null || typeof node !== 'object') return '';
  const value = (node as Record<string, unknown>)[`@_${name}`];
  return typeof value === 'string' ? value : '';
}
