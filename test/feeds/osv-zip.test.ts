import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { osvFeed } from '../../src/feeds/osv.js';
import { isZip, readZip } from '../../src/feeds/shared/zip.js';
import { makeZip, type ZipFixtureEntry as Entry } from '../helpers/zip.js';

const UBUNTU = new URL('../fixtures/feeds/osv/ubuntu/', import.meta.url).pathname;
const ctx = { feedName: 'osv', maxBytes: 10 * 1024 * 1024 };

const ubuntuEntries = (): Entry[] => readdirSync(UBUNTU).sort().map((name) => ({ name, body: readFileSync(path.join(UBUNTU, name)) }));

describe('osv zip exports', () => {
  it('reads every record of an all.zip export, each located inside the archive', async () => {
    const entries = ubuntuEntries();
    const zip = makeZip([...entries.slice(0, 5).map((e) => ({ ...e, method: 0 as const })), ...entries.slice(5), { name: 'README.txt', body: Buffer.from('not a record') }]);
    expect(isZip(zip)).toBe(true);
    const result = await osvFeed.parse([{ location: 'all.zip', body: zip }], ctx);
    expect(result.errors).toEqual([]);
    expect(result.advisories).toHaveLength(entries.length);
    const plain = await osvFeed.parse(entries.map((e) => ({ location: e.name, body: e.body })), ctx);
    expect(result.advisories).toEqual(plain.advisories);
  });

  it('skips a bad entry as one record and reads the rest', async () => {
    const [first, second] = ubuntuEntries();
    const result = await osvFeed.parse([{ location: 'all.zip', body: makeZip([first!, { name: 'BROKEN.json', body: Buffer.from('{"id": ') }, second!]) }], ctx);
    expect(result.advisories).toHaveLength(2);
    expect(result.errors).toEqual([{ location: 'all.zip!/BROKEN.json', scope: 'record', message: expect.stringContaining('truncated') }]);
  });

  it('refuses a zip bomb, a lying size, a bad CRC and a truncated archive as unreadable documents', async () => {
    const bomb = makeZip([{ name: 'BOMB.json', body: Buffer.alloc(20 * 1024 * 1024, 0x20) }]);
    expect(bomb.length).toBeLessThan(100 * 1024);
    const lying = makeZip([{ name: 'LIE.json', body: Buffer.alloc(5 * 1024 * 1024, 0x20), declaredSize: 10 }]);
    const [first] = ubuntuEntries();
    const badCrc = makeZip([{ ...first!, declaredCrc: 1234 }]);
    const truncated = makeZip(ubuntuEntries()).subarray(0, 5000);
    const result = await osvFeed.parse(
      [
        { location: 'bomb.zip', body: bomb },
        { location: 'lying.zip', body: lying },
        { location: 'crc.zip', body: badCrc },
        { location: 'cut.zip', body: truncated },
      ],
      ctx,
    );
    expect(result.advisories).toEqual([]);
    expect(result.errors).toEqual([
      { location: 'bomb.zip', scope: 'document', message: `unpacks to more than ${ctx.maxBytes} bytes (config fetch.maxBytes)` },
      { location: 'lying.zip', scope: 'document', message: expect.stringMatching(/^LIE\.json in the archive cannot be unpacked/) },
      { location: 'crc.zip', scope: 'document', message: `${first!.name} in the archive fails its CRC-32 or size check` },
      { location: 'cut.zip', scope: 'document', message: 'is not a readable zip archive (no end of central directory; truncated?)' },
    ]);
  });

  it('says so for archives it does not read (another compression method)', () => {
    const zip = makeZip([{ name: 'A.json', body: Buffer.from('{}'), method: 0 }]);
    zip.writeUInt16LE(12, zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 10);
    expect(readZip(zip, { maxBytes: 1024 })).toEqual({ ok: false, message: 'A.json in the archive uses compression method 12; only stored and deflate are read' });
  });
});
