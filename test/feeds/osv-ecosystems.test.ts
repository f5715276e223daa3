import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schemeForEcosystem } from '../../src/core/versions/index.js';
import { osvFeed } from '../../src/feeds/osv.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const doc = (name: string) => ({ location: `${FIXTURES}${name}`, body: readFileSync(`${FIXTURES}${name}`) });
const ctx = { feedName: 'osv' };
const record = (ecosystems: string[]) => ({
  id: 'FROB-2026-1',
  summary: 'frobnicator overflow',
  aliases: ['CVE-2026-0001'],
  affected: ecosystems.map((ecosystem) => ({
    package: { ecosystem, name: 'frob' },
    ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2-3' }] }],
  })),
});
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('osv feed: ecosystems Patchdeck cannot order', () => {
  it('skips a record whose only ecosystem is unknown, with the error naming it', async () => {
    const result = await osvFeed.parse([{ location: 'frob.json', body: body(record(['Frobnix:7'])) }], ctx);
    expect(result.advisories).toEqual([]);
    expect(result.errors).toEqual([
      { location: 'frob.json (FROB-2026-1)', scope: 'record', message: 'unknown ecosystem Frobnix:7: Patchdeck cannot order its versions; record skipped' },
    ]);
  });

  it('keeps the orderable entries of a mixed record and says which ecosystems were dropped', async () => {
    const result = await osvFeed.parse([{ location: 'mixed.json', body: body(record(['Debian:12', 'Frobnix:7', 'crates.io'])) }], ctx);
    expect(result.advisories.map((a) => a.affected.map((p) => p.ecosystem))).toEqual([['Debian:12']]);
    expect(result.errors).toEqual([
      {
        location: 'mixed.json (FROB-2026-1)',
        scope: 'record',
        message: 'unknown ecosystem Frobnix:7, crates.io: Patchdeck cannot order its versions; its affected entries were skipped, the rest of the record kept',
      },
    ]);
  });

  it('skips only the bad record of an array; the others are read', async () => {
    const good = { ...record(['Debian:12']), id: 'GOOD-1' };
    const result = await osvFeed.parse([{ location: 'all.json', body: body([good, record(['Frobnix:7'])]) }], ctx);
    expect(result.advisories.map((a) => a.id)).toEqual(['GOOD-1']);
    expect(result.errors).toMatchObject([{ location: 'all.json[1] (FROB-2026-1)', scope: 'record' }]);
  });

  it('reads the real AlmaLinux, Rocky Linux and Red Hat OSV records with no error: every ecosystem is ordered as rpm', async () => {
    const documents = ['osv-rpm/almalinux', 'osv-rpm/rocky', 'osv-rpm/redhat'].flatMap((dir) => readdirSync(`${FIXTURES}${dir}`).map((f) => doc(`${dir}/${f}`)));
    const { advisories, errors } = await osvFeed.parse(documents, ctx);
    expect(errors).toEqual([]);
    expect(advisories.map((a) => a.id).sort()).toEqual(['ALSA-2022:8194', 'ALSA-2023:4520', 'ALSA-2024:2433', 'RHSA-2024:4546', 'RLSA-2023:3220', 'RLSA-2024:3671']);
    const ecosystems = new Set(advisories.flatMap((a) => a.affected.map((p) => p.ecosystem)));
    expect([...ecosystems].every((e) => schemeForEcosystem(e) === 'rpm')).toBe(true);
    expect(ecosystems).toContain('Rocky Linux:9');
    expect(ecosystems).toContain('Red Hat:rhel_aus:8.6::appstream');
    const avahi = advisories.find((a) => a.id === 'ALSA-2024:2433')!;
    expect(avahi.cves).toEqual(['CVE-2023-38469', 'CVE-2023-38470', 'CVE-2023-38471', 'CVE-2023-38472', 'CVE-2023-38473']);
    expect(avahi.affected.find((p) => p.name === 'avahi-libs')).toMatchObject({
      ecosystem: 'AlmaLinux:9',
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.8-20.el9' }] }],
    });
  });
});
