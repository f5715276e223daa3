import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { PatchdeckError } from '../../core/errors.js';

/**
 * The Teams app package: manifest.json plus two icons, zipped with the files at the top level.
 * No zip or image library is installed, and both formats are small enough to write directly
 * (PNG: RFC 2083; zip: PKWARE APPNOTE, deflate entries, no extras).
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), as both PNG chunks and zip entries use it. */
export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export type Rgba = readonly [number, number, number, number];

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGBA PNG with every pixel from `pixel(x, y)`. */
export function encodePng(width: number, height: number, pixel: (x: number, y: number) => Rgba): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA, deflate, filter set 0, no interlace
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4); // each row starts with filter type 0 (none)
    for (let x = 0; x < width; x++) rows.set(pixel(x, y), row + 1 + x * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Inside the check mark drawn on both icons, in unit coordinates (0..1). */
function onCheckMark(u: number, v: number, stroke: number): boolean {
  const distance = (ax: number, ay: number, bx: number, by: number) => {
    const t = Math.max(0, Math.min(1, ((u - ax) * (bx - ax) + (v - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
    return Math.hypot(u - (ax + t * (bx - ax)), v - (ay + t * (by - ay)));
  };
  return Math.min(distance(0.28, 0.52, 0.44, 0.68), distance(0.44, 0.68, 0.74, 0.34)) <= stroke;
}

const ACCENT: Rgba = [79, 70, 229, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const CLEAR: Rgba = [0, 0, 0, 0];

/** The colour icon (192×192): a white check mark on the accent colour. */
export function renderColorIcon(): Buffer {
  return encodePng(192, 192, (x, y) => (onCheckMark((x + 0.5) / 192, (y + 0.5) / 192, 0.06) ? WHITE : ACCENT));
}

/** The outline icon (32×32): white on transparent only, as Teams requires; a ring around a check mark. */
export function renderOutlineIcon(): Buffer {
  return encodePng(32, 32, (x, y) => {
    const u = (x + 0.5) / 32;
    const v = (y + 0.5) / 32;
    const ring = Math.abs(Math.hypot(u - 0.5, v - 0.5) - 0.42) <= 0.045;
    return ring || onCheckMark(u, v, 0.06) ? WHITE : CLEAR;
  });
}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** A zip archive of deflated entries, with a fixed timestamp so the same input gives the same bytes. */
export function createZip(entries: readonly ZipEntry[]): Buffer {
  const DOS_TIME = 0; // 00:00:00
  const DOS_DATE = (2026 - 1980) << 9 | 1 << 5 | 1; // 2026-01-01
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const compressed = deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by: 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Fills the manifest template: `{{TEAMS_APP_ID}}`, `{{PUBLIC_URL}}` and `{{PUBLIC_HOST}}`. */
export function fillTeamsManifest(template: string, values: { appId: string; publicUrl: string }): Record<string, unknown> {
  if (!GUID.test(values.appId)) {
    throw new PatchdeckError('PD_TEAMS_PACKAGE', `the Teams app id must be the bot's Microsoft App ID, a GUID (got "${values.appId}"): set teams.appId or TEAMS_APP_ID`);
  }
  let url: URL;
  try {
    url = new URL(values.publicUrl);
  } catch {
    throw new PatchdeckError('PD_TEAMS_PACKAGE', `publicUrl "${values.publicUrl}" is not a URL`);
  }
  if (url.protocol !== 'https:') {
    throw new PatchdeckError('PD_TEAMS_PACKAGE', `Teams only accepts https links: set publicUrl (PATCHDECK_PUBLIC_URL) to the console's https address (got ${values.publicUrl})`);
  }
  const publicUrl = values.publicUrl.replace(/\/+$/, '');
  const filled = template
    .replaceAll('{{TEAMS_APP_ID}}', values.appId.toLowerCase())
    .replaceAll('{{PUBLIC_URL}}', publicUrl)
    .replaceAll('{{PUBLIC_HOST}}', url.host);
  const manifest = JSON.parse(filled) as Record<string, unknown>;
  const left = /\{\{[A-Z_]+\}\}/.exec(filled);
  if (left) throw new PatchdeckError('PD_TEAMS_PACKAGE', `manifest.json has a placeholder nobody fills: ${left[0]}`);
  return manifest;
}

/** Builds the app package from manifests/teams (manifest template and icons). */
export function buildTeamsAppPackage(options: { manifestDir: string; appId: string; publicUrl: string }): Buffer {
  const read = (file: string) => readFileSync(path.join(options.manifestDir, file));
  const manifest = fillTeamsManifest(read('manifest.json').toString('utf8'), options);
  const icons = manifest.icons as { color: string; outline: string };
  return createZip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8') },
    { name: icons.color, data: read(icons.color) },
    { name: icons.outline, data: read(icons.outline) },
  ]);
}
