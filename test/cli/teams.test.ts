import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';

function io(env: Record<string, string>, cwd: string) {
  const out = { stdout: '', stderr: '' };
  const cliIo: CliIo = { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), readStdin: async () => '', env, cwd };
  return { cliIo, out };
}

/** Reads the names and bytes of a zip's entries from its central directory (stored or deflated). */
function readZip(zip: Buffer): Map<string, Buffer> {
  const entries = new Map<string, Buffer>();
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const size = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extra = zip.readUInt16LE(offset + 30);
    const comment = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + size);
    entries.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    offset += 46 + nameLength + extra + comment;
  }
  return entries;
}

describe('patchdeck teams package', () => {
  it('writes the app package with the manifest filled in from the config', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-teams-'));
    const appId = '6f0d3c8e-1234-4a5b-9c7d-0123456789ab';
    const { cliIo, out } = io({ TEAMS_APP_ID: appId, PATCHDECK_PUBLIC_URL: 'https://patchdeck.example.com' }, dir);
    expect(await runCli(['teams', 'package', '--out', 'pkg.zip'], cliIo)).toBe(0);
    expect(out.stdout).toMatch(/wrote pkg\.zip/);
    const entries = readZip(readFileSync(path.join(dir, 'pkg.zip')));
    expect([...entries.keys()].sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as { id: string; bots: { botId: string }[]; validDomains: string[] };
    expect(manifest.bots[0]!.botId).toBe(appId);
    expect(manifest.validDomains).toContain('patchdeck.example.com');
  });

  it('refuses without an app id, saying which setting to set', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-teams-'));
    const { cliIo, out } = io({}, dir);
    expect(await runCli(['teams', 'package'], cliIo)).toBe(1);
    expect(out.stderr).toMatch(/TEAMS_APP_ID/);
  });
});
