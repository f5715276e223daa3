import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { epssFeed } from '../../src/feeds/epss.js';

const FIXTURE = new URL('../fixtures/feeds/epss/epss_scores-2026-09-29-head.csv', import.meta.url).pathname;
const CSV = readFileSync(FIXTURE);

const parse = (body: Buffer | string, location = 'epss.csv', maxBytes?: number) =>
  epssFeed.parse([{ location, body: Buffer.isBuffer(body) ? body : Buffer.from(body) }], { feedName: 'epss', maxBytes });

describe('epss feed plugin', () => {
  it('reads every row of the real file with its score date and model version, and no advisories', async () => {
    const result = await parse(CSV);
    expect(result.errors).toEqual([]);
    expect(result.advisories).toEqual([]);
    expect(result.epss).toHaveLength(534);
    expect(result.epss![0]).toEqual({ cve: 'CVE-1999-0001', epss: 0.03351, percentile: 0.88255, scoreDate: '2026-09-29', modelVersion: 'v2026.06.15' });
    expect(result.epss!.at(-1)).toEqual({ cve: 'CVE-1999-0549', epss: 0.0179, percentile: 0.77491, scoreDate: '2026-09-29', modelVersion: 'v2026.06.15' });
    expect(result.epss!.some((s) => s.cve === 'CVE-1999-0020')).toBe(false);
  });

  it('reads the gzip form to the same scores', async () => {
    const gz = gzipSync(CSV);
    expect(gz[0]).toBe(0x1f);
    expect((await parse(gz, 'epss_scores-2026-09-29.csv.gz')).epss).toEqual((await parse(CSV)).epss);
  });

  it('reads numbers in any precision and in exponent notation, and CRLF lines', async () => {
    const text = '#model_version:v2025.03.14,score_date:2025-03-14T00:00:00+0000\r\ncve,epss,percentile\r\nCVE-2024-0001,7e-05,0.01\r\ncve-2024-0002,1.5E-4,.5\r\nCVE-2024-0003,1,1.000000000\r\n';
    const result = await parse(text);
    expect(result.errors).toEqual([]);
    expect(result.epss!.map((s) => [s.cve, s.epss, s.percentile, s.scoreDate])).toEqual([
      ['CVE-2024-0001', 0.00007, 0.01, '2025-03-14'],
      ['CVE-2024-0002', 0.00015, 0.5, '2025-03-14'],
      ['CVE-2024-0003', 1, 1, '2025-03-14'],
    ]);
  });

  it('skips bad rows naming the line, and keeps the good ones', async () => {
    const text = [
      '#model_version:v1,score_date:2026-09-29T12:00:22Z',
      'cve,epss,percentile',
      'CVE-2024-0001,0.5,0.9',
      'GHSA-xxxx,0.5,0.9',
      'CVE-2024-0003,abc,0.9',
      'CVE-2024-0004,1.5,0.9',
      'CVE-2024-0005,0.1',
      '',
    ].join('\n');
    const result = await parse(text, '/feeds/epss.csv');
    expect(result.epss!.map((s) => s.cve)).toEqual(['CVE-2024-0001']);
    expect(result.errors.map((e) => [e.location, e.scope])).toEqual([
      ['/feeds/epss.csv:4', 'record'],
      ['/feeds/epss.csv:5', 'record'],
      ['/feeds/epss.csv:6', 'record'],
      ['/feeds/epss.csv:7', 'record'],
    ]);
    expect(result.errors[0]!.message).toBe('cve: expected a CVE id such as CVE-2024-1234 (in "GHSA-xxxx,0.5,0.9")');
    expect(result.errors[1]!.message).toContain('epss: expected a number such as 0.0123 or 1.2e-05');
    expect(result.errors[2]!.message).toContain('epss: must be between 0 and 1');
    expect(result.errors[3]!.message).toContain('percentile: expected a number');
  });

  it('dates a file without the comment line by its name, and refuses one it cannot date', async () => {
    const plain = 'cve,epss,percentile\nCVE-2021-0001,0.1,0.2\n';
    expect((await parse(plain, '/x/epss_scores-2021-04-14.csv')).epss![0]).toMatchObject({ scoreDate: '2021-04-14', modelVersion: null });
    const undated = await parse(plain, '/x/scores.csv');
    expect(undated.epss).toEqual([]);
    expect(undated.errors).toEqual([{ location: '/x/scores.csv', scope: 'document', message: expect.stringContaining('has no score date: line 1 should read like') }]);
  });

  it('refuses a document that is not EPSS, a broken gzip and one that unpacks too large', async () => {
    const kev = await parse('#score_date:2026-01-01\n{"vulnerabilities": []}\n');
    expect(kev.errors).toEqual([{ location: 'epss.csv:2', scope: 'document', message: 'is not an EPSS header: expected the columns cve,epss,percentile, found "{"vulnerabilities": []}"' }]);
    const broken = await parse(gzipSync(CSV).subarray(0, 200));
    expect(broken.errors[0]).toMatchObject({ scope: 'document', message: expect.stringContaining('is not a readable gzip file') });
    const bomb = await parse(gzipSync(Buffer.alloc(1024 * 1024, 0x41)), 'big.csv.gz', 64 * 1024);
    expect(bomb.errors[0]).toMatchObject({ scope: 'document', message: 'unpacks to more than 65536 bytes (config fetch.maxBytes)' });
  });
});
