import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { matchAdvisory } from '../../src/core/matching.js';
import type { AdvisoryInput } from '../../src/core/types.js';
import { osvFeed } from '../../src/feeds/osv.js';

/**
 * Real OSV records of the Go and Maven ecosystems (test/fixtures/feeds/osv/README.md), read by the
 * OSV feed plugin and matched by core: Go records carry SEMVER ranges written without the "v" that
 * installed Go modules carry; the Maven record has three ECOSYSTEM ranges ordered by ComparableVersion.
 */
const FIXTURES = new URL('../fixtures/feeds/osv/', import.meta.url).pathname;
const records = new Map<string, AdvisoryInput>();

beforeAll(async () => {
  const files = ['go/GO-2021-0113.json', 'go/GO-2021-0227.json', 'go/GO-2022-0390.json', 'maven/GHSA-jfh8-c2jp-5v3q.json'];
  const { advisories, errors } = await osvFeed.parse(files.map((f) => ({ location: f, body: readFileSync(`${FIXTURES}${f}`) })), { feedName: 'osv' });
  expect(errors).toEqual([]);
  for (const advisory of advisories) records.set(advisory.id, advisory);
});

function match(id: string, ecosystem: string, name: string, version: string) {
  const advisory = records.get(id);
  if (!advisory) throw new Error(`no fixture ${id}`);
  return matchAdvisory(advisory.affected, { ecosystem, name, version });
}

describe('OSV Go records', () => {
  it('GO-2021-0113: golang.org/x/text below 0.3.7 is affected, with or without the v', () => {
    for (const version of ['v0.3.6', '0.3.6', 'v0.3.0', 'v0.0.0-20170915032832-14c0d48ead0c']) {
      const result = match('GO-2021-0113', 'Go', 'golang.org/x/text', version);
      expect(result, version).toMatchObject({ affected: true, fixed: '0.3.7', undetermined: false });
    }
    for (const version of ['v0.3.7', '0.3.8', 'v0.14.0']) {
      expect(match('GO-2021-0113', 'Go', 'golang.org/x/text', version), version).toMatchObject({ affected: false, undetermined: false });
    }
  });

  it('SEMVER ranges of Go records are read with Go rules: v0.3 shorthand and +incompatible versions are decided, not undetermined', () => {
    expect(match('GO-2021-0113', 'Go', 'golang.org/x/text', 'v0.3')).toMatchObject({ affected: true, fixed: '0.3.7', undetermined: false });
    expect(match('GO-2021-0113', 'Go', 'golang.org/x/text', 'v0.4')).toMatchObject({ affected: false, undetermined: false });
  });

  it('GO-2021-0227: golang.org/x/crypto pseudo-versions order by their timestamp', () => {
    const before = match('GO-2021-0227', 'Go', 'golang.org/x/crypto', 'v0.0.0-20201208171446-5f87f3452ae9');
    expect(before).toMatchObject({ affected: true, fixed: '0.0.0-20201216223049-8b5274cf687f' });
    expect(before.reason).toContain('golang.org/x/crypto v0.0.0-20201208171446-5f87f3452ae9');
    expect(match('GO-2021-0227', 'Go', 'golang.org/x/crypto', 'v0.0.0-20201216223049-8b5274cf687f').affected).toBe(false);
    expect(match('GO-2021-0227', 'Go', 'golang.org/x/crypto', 'v0.0.0-20210711020723-a769d52b0f0a').affected).toBe(false);
    // a tagged release is above every v0.0.0 pseudo-version
    expect(match('GO-2021-0227', 'Go', 'golang.org/x/crypto', 'v0.1.0').affected).toBe(false);
  });

  it('GO-2022-0390: docker +incompatible versions compare without their build suffix', () => {
    expect(match('GO-2022-0390', 'Go', 'github.com/docker/docker', 'v20.10.13+incompatible')).toMatchObject({ affected: true, fixed: '20.10.14+incompatible' });
    expect(match('GO-2022-0390', 'Go', 'github.com/docker/docker', 'v20.10.14+incompatible').affected).toBe(false);
    expect(match('GO-2022-0390', 'Go', 'github.com/moby/moby', 'v17.12.0-ce-rc1.0.20200309214505-aa6a9891b09c+incompatible').affected).toBe(true);
    expect(match('GO-2022-0390', 'Go', 'github.com/docker/cli', 'v20.10.13+incompatible').affected).toBe(false);
  });

  it('needs the exact ecosystem string', () => {
    expect(match('GO-2021-0113', 'go', 'golang.org/x/text', 'v0.3.6').affected).toBe(false);
  });
});

describe('OSV Maven record GHSA-jfh8-c2jp-5v3q (Log4Shell)', () => {
  const core = 'org.apache.logging.log4j:log4j-core';

  it.each([
    ['2.14.1', '2.15.0'],
    ['2.13.0', '2.15.0'],
    ['2.0-beta9', '2.3.1'], // a beta of 2.0 is above introduced 0 and below 2.3.1
    ['2.0-rc1', '2.3.1'],
    ['2.3', '2.3.1'],
    ['2.4', '2.12.2'],
    ['2.12.1', '2.12.2'],
    ['2.11.0-SNAPSHOT', '2.12.2'],
  ])('%s is affected and fixed in %s', (version, fixed) => {
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', core, version)).toMatchObject({ affected: true, fixed, undetermined: false });
  });

  it.each(['2.15.0', '2.16.0', '2.17.1', '2.3.1', '2.3.2', '2.12.2', '2.12.4', '2.15.0.RELEASE', '2.15.0-final'])('%s is not affected', (version) => {
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', core, version)).toMatchObject({ affected: false, undetermined: false });
  });

  it('orders the qualifiers Maven orders: 2.15.0-rc1 is still before the fix, 2.13.0-SNAPSHOT before 2.13.0', () => {
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', core, '2.15.0-rc1').affected).toBe(true);
    // 2.13.0-SNAPSHOT < 2.13.0 (introduced) but > 2.12.2, so no range holds it
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', core, '2.13.0-SNAPSHOT').affected).toBe(false);
    // numbers are numbers: 2.9.1 is inside 2.4 … 2.12.2, not above 2.12.2 as text would say
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', core, '2.9.1').affected).toBe(true);
  });

  it('does not flag log4j-api, which the advisory does not name', () => {
    expect(match('GHSA-jfh8-c2jp-5v3q', 'Maven', 'org.apache.logging.log4j:log4j-api', '2.14.1').affected).toBe(false);
  });
});
