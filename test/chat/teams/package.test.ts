import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildTeamsAppPackage, crc32, createZip, fillTeamsManifest, renderColorIcon, renderOutlineIcon } from '../../../src/chat/teams/app-package.js';

const MANIFEST_DIR = path.resolve(import.meta.dirname, '../../../manifests/teams');
const APP_ID = '00000000-0000-4000-8000-00000000A99D';

/** Reads a zip back through its central directory, checking every entry's CRC and sizes. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const compressed = zip.subarray(dataStart, dataStart + zip.readUInt32LE(at + 20));
    const data = method === 8 ? inflateRawSync(compressed) : Buffer.from(compressed);
    expect(data.length).toBe(size);
    expect(crc32(data)).toBe(crc);
    files.set(name, data);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** Decodes an 8-bit RGBA, non-interlaced PNG whose rows use filter 0 (what encodePng writes). */
function readPng(png: Buffer): { width: number; height: number; pixels: number[][] } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('ascii');
    const data = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const pixels: number[][] = [];
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4);
    expect(raw[row]).toBe(0);
    for (let x = 0; x < width; x++) pixels.push([...raw.subarray(row + 1 + x * 4, row + 5 + x * 4)]);
  }
  return { width, height, pixels };
}

describe('Teams app package', () => {
  it('zips the filled manifest and both icons at the top level', () => {
    const files = readZip(buildTeamsAppPackage({ manifestDir: MANIFEST_DIR, appId: APP_ID, publicUrl: 'https://patchdeck.example.com:8443/' }));
    expect([...files.keys()]).toEqual(['manifest.json', 'color.png', 'outline.png']);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest).toMatchObject({
      manifestVersion: '1.17',
      id: APP_ID.toLowerCase(),
      developer: { websiteUrl: 'https://patchdeck.example.com:8443' },
      icons: { color: 'color.png', outline: 'outline.png' },
      bots: [{ botId: APP_ID.toLowerCase(), scopes: ['team', 'personal'] }],
      validDomains: ['patchdeck.example.com:8443'],
    });
    expect(manifest.description.short.length).toBeLessThanOrEqual(80);
    expect(manifest.name.short.length).toBeLessThanOrEqual(30);
    expect(files.get('color.png')!.equals(readFileSync(path.join(MANIFEST_DIR, 'color.png')))).toBe(true);
  });

  it('has icons of the sizes Teams asks for, the outline white on transparent only', () => {
    const color = readPng(readFileSync(path.join(MANIFEST_DIR, 'color.png')));
    expect([color.width, color.height]).toEqual([192, 192]);
    const outline = readPng(readFileSync(path.join(MANIFEST_DIR, 'outline.png')));
    expect([outline.width, outline.height]).toEqual([32, 32]);
    for (const [r, g, b, a] of outline.pixels) expect(a === 0 || (r === 255 && g === 255 && b === 255)).toBe(true);
    expect(outline.pixels.some((p) => p[3] === 255)).toBe(true);
    // The committed icons are what the generator draws, so they can be redrawn.
    expect(renderColorIcon().equals(readFileSync(path.join(MANIFEST_DIR, 'color.png')))).toBe(true);
    expect(renderOutlineIcon().equals(readFileSync(path.join(MANIFEST_DIR, 'outline.png')))).toBe(true);
  });

  it('refuses an app id that is not a GUID, a non-https public URL, and leftover placeholders', () => {
    const template = readFileSync(path.join(MANIFEST_DIR, 'manifest.json'), 'utf8');
    expect(() => fillTeamsManifest(template, { appId: 'patchdeck', publicUrl: 'https://x.example' })).toThrow(/GUID.*TEAMS_APP_ID/);
    expect(() => fillTeamsManifest(template, { appId: APP_ID, publicUrl: 'http://localhost:3000' })).toThrow(/https/);
    expect(() => fillTeamsManifest('{"x":"{{OTHER}}"}', { appId: APP_ID, publicUrl: 'https://x.example' })).toThrow(/\{\{OTHER\}\}/);
  });

  it('writes the same bytes for the same input, with a correct CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const entries = [{ name: 'a.txt', data: Buffer.from('hello '.repeat(100)) }, { name: 'é.bin', data: Buffer.alloc(0) }];
    expect(createZip(entries).equals(createZip(entries))).toBe(true);
    const files = readZip(createZip(entries));
    expect(files.get('a.txt')!.toString()).toBe('hello '.repeat(100));
    expect(files.get('é.bin')!.length).toBe(0);
  });
});
