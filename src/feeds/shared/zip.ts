import { crc32, inflateRawSync } from 'node:zlib';

/** One file of a zip archive, unpacked. */
export interface ZipEntry {
  name: string;
  body: Buffer;
}

export type ZipReadResult = { ok: true; entries: ZipEntry[] } | { ok: false; message: string };

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** The end record is 22 bytes plus a comment of at most 65,535. */
const END_SEARCH = 22 + 0xffff;

/** True when the bytes start like a zip archive (`PK\x03\x04`). */
export function isZip(body: Buffer): boolean {
  return body.length >= 4 && body.readUInt32LE(0) === LOCAL_HEADER;
}

/**
 * The files of a zip archive (OSV's `all.zip` exports): stored or deflated entries, read through the
 * central directory; no zip64, no encryption. Each entry's CRC-32 is checked, and the unpacked total
 * may not pass `maxBytes` (inflating stops there), so a zip bomb is refused, not unpacked. Never
 * throws: a broken or unsupported archive gives the reason.
 */
export function readZip(body: Buffer, options: { maxBytes: number; wanted?: (name: string) => boolean }): ZipReadResult {
  const end = findEnd(body);
  if (end === null) return { ok: false, message: 'is not a readable zip archive (no end of central directory; truncated?)' };
  const count = body.readUInt16LE(end + 10);
  const size = body.readUInt32LE(end + 12);
  const offset = body.readUInt32LE(end + 16);
  if (count === 0xffff || offset === 0xffffffff || size === 0xffffffff) return { ok: false, message: 'is a zip64 archive, which is not supported' };
  if (offset + size > end) return { ok: false, message: 'is not a readable zip archive (its central directory lies outside the file)' };
  const entries: ZipEntry[] = [];
  let total = 0;
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > body.length || body.readUInt32LE(at) !== CENTRAL_HEADER) return { ok: false, message: `is not a readable zip archive (central directory entry ${i + 1} is damaged)` };
    const flags = body.readUInt16LE(at + 8);
    const method = body.readUInt16LE(at + 10);
    const crc = body.readUInt32LE(at + 16);
    const packed = body.readUInt32LE(at + 20);
    const unpacked = body.readUInt32LE(at + 24);
    const nameLength = body.readUInt16LE(at + 28);
    const skip = nameLength + body.readUInt16LE(at + 30) + body.readUInt16LE(at + 32);
    const local = body.readUInt32LE(at + 42);
    const name = body.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + skip;
    if (name.endsWith('/') || (options.wanted !== undefined && !options.wanted(name))) continue;
    if ((flags & 1) !== 0) return { ok: false, message: `${name} in the archive is encrypted` };
    if (method !== 0 && method !== 8) return { ok: false, message: `${name} in the archive uses compression method ${method}; only stored and deflate are read` };
    if (total + unpacked > options.maxBytes) return { ok: false, message: `unpacks to more than ${options.maxBytes} bytes (config fetch.maxBytes)` };
    if (local + 30 > body.length || body.readUInt32LE(local) !== LOCAL_HEADER) return { ok: false, message: `${name} in the archive has a damaged local header` };
    const start = local + 30 + body.readUInt16LE(local + 26) + body.readUInt16LE(local + 28);
    if (start + packed > body.length) return { ok: false, message: `${name} in the archive is cut short (truncated?)` };
    const data = body.subarray(start, start + packed);
    let content: Buffer;
    try {
      // Inflate no further than the entry claims: a lying size is caught below, never followed.
      content = method === 0 ? Buffer.from(data) : inflateRawSync(data, { maxOutputLength: Math.max(unpacked, 1) });
    } catch (error) {
      return { ok: false, message: `${name} in the archive cannot be unpacked (${(error as Error).message})` };
    }
    if (content.length !== unpacked || crc32(content) !== crc) return { ok: false, message: `${name} in the archive fails its CRC-32 or size check` };
    total += content.length;
    entries.push({ name, body: content });
  }
  return { ok: true, entries };
}

function findEnd(body: Buffer): number | null {
  for (let at = body.length - 22; at >= Math.max(0, body.length - END_SEARCH); at--) {
    if (body.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  return null;
}
