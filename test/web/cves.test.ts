import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AdvisoryInput } from '../../src/core/types.js';
import { kevFeed } from '../../src/feeds/kev.js';
import { msrcFeed } from '../../src/feeds/msrc.js';
import { osvFeed } from '../../src/feeds/osv.js';
import { rssFeed } from '../../src/feeds/rss.js';
import type { FeedPlugin } from '../../src/feeds/types.js';
import type { Store } from '../../src/store/db.js';
import { writeAdvisories } from '../../src/store/queries/advisories.js';
import { createWebApp } from '../../src/web/app.js';
import { chromiumUnavailableReason, launchChromium, screenshotPath } from '../helpers/browser.js';
import { createTestStore, describeEachStore, type TestStore } from '../helpers/stores.js';
import { createTestContext, listen, NOW, seedCase } from './seed.js';

const FIXTURES = new URL('../fixtures/feeds/', import.meta.url).pathname;
const WANTED = new Set(['CVE-2021-44228', 'CVE-2014-6271', 'CVE-2014-3566', 'CVE-2023-36036']);

async function parse(plugin: FeedPlugin, feedName: string, file: string): Promise<AdvisoryInput[]> {
  const { advisories } = await plugin.parse([{ location: file, body: readFileSync(`${FIXTURES}${file}`) }], { feedName });
  return advisories.filter((a) => a.cves.some((cve) => WANTED.has(cve)));
}

/** Real captures naming the wanted CVEs, and a case opened for the GitHub Log4Shell record. */
async function seed(store: Store): Promise<number> {
  const caseId = await seedCase(store, { advisoryId: 'GHSA-jfh8-c2jp-5v3q', title: 'Log4Shell in log4j-core', severity: 'critical', cves: ['CVE-2021-44228'] });
  const advisories = [
    ...(await parse(kevFeed, 'kev', 'kev/known_exploited_vulnerabilities.json')),
    ...(await parse(osvFeed, 'osv', 'osv/maven/GHSA-jfh8-c2jp-5v3q.json')),
    ...(await parse(rssFeed, 'us-cert', 'rss/us-cert-alerts.rss.xml')),
    ...(await parse(msrcFeed, 'msrc', 'msrc/cvrfDocument-2023-Nov.xml')),
  ];
  await store.transaction((trx) => writeAdvisories(trx, advisories.map((advisory) => ({ advisory, contentHash: advisory.id })), new Date(NOW)));
  return caseId;
}

describeEachStore('CVE page over HTTP', (db) => {
  let server: { url: string; close: () => Promise<void> };
  let caseId: number;
  beforeEach(async () => {
    caseId = await seed(db.store);
    server = await listen(createWebApp({ ctx: createTestContext(db.store), slackEnabled: false }));
  });
  afterEach(async () => {
    await server.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${server.url}${path}`);
    return { status: response.status, html: await response.text() };
  };

  it('shows every source of Log4Shell, the fixed versions used and the case opened for it', async () => {
    const { status, html } = await get('/cves/CVE-2021-44228');
    expect(status).toBe(200);
    expect(html).toContain('<h1>CVE-2021-44228 · Remote code injection in Log4j</h1>');
    expect(html).toContain('Confirmed by OSV record and CISA KEV (2 sources).');
    expect(html.indexOf('>GHSA-jfh8-c2jp-5v3q</a>')).toBeLessThan(html.indexOf('>KEV-CVE-2021-44228</a>'));
    expect(html).toContain('<code>org.apache.logging.log4j:log4j-core</code>');
    expect(html).toContain('<code>2.15.0</code>, <code>2.3.1</code>, <code>2.12.2</code>');
    expect(html).toContain(`<a href="/cases/${caseId}">Case #${caseId}</a>`);
    expect(html).toContain('used in ransomware campaigns');
  });

  it('reads a lower-case id and says so when only an RSS hint names the CVE', async () => {
    const { status, html } = await get('/cves/cve-2014-3566');
    expect(status).toBe(200);
    expect(html).toContain('awaiting vendor confirmation');
    expect(html).toMatch(/<div class="notice" role="status">Reported by [a-z.-]+, awaiting vendor confirmation\./);
    expect(html).toContain('No source gives fix data yet.');
  });

  it('lists Microsoft remediations with their KB for a CVE in the MSRC month', async () => {
    const { status, html } = await get('/cves/CVE-2023-36036');
    expect(status).toBe(200);
    expect(html).toContain('vendor advisory');
    expect(html).toMatch(/<strong>vendor fix<\/strong> <span class="muted small">\(MSRC-CVE-2023-36036\)<\/span>: KB\d+ · build [\d.]+ · restart: Yes/);
    // the KBs are listed once, as remediations, not again as packages without a fix
    expect(html).not.toContain('no fix published');
  });

  it('answers 400 for something that is not a CVE id and 404 for a CVE nobody reported', async () => {
    const bad = await get('/cves/log4shell');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('CVE-YYYY-NNNN');
    const missing = await get('/cves/CVE-1999-0001');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('No stored advisory names CVE-1999-0001 yet');
  });

  it('lists the newest CVEs on /cves and sends a looked-up id to its page', async () => {
    const { status, html } = await get('/cves');
    expect(status).toBe(200);
    expect(html).toContain('<a href="/cves/CVE-2021-44228">CVE-2021-44228</a>');
    expect(html).toContain('awaiting vendor confirmation');
    const found = await fetch(`${server.url}/cves?id=+cve-2014-6271`, { redirect: 'manual' });
    expect(found.status).toBe(303);
    expect(found.headers.get('location')).toBe('/cves/CVE-2014-6271');
    expect((await get('/cves?id=shellshock')).status).toBe(400);
  });

  it('links each CVE of a case to its page', async () => {
    const { html } = await get(`/cases/${caseId}`);
    expect(html).toContain('<a href="/cves/CVE-2021-44228" title="Every source about CVE-2021-44228">CVE-2021-44228</a>');
  });
});

const skipReason = chromiumUnavailableReason();

// The reason is printed by test/helpers/browser.ts when Chromium is missing.
(skipReason === null ? describe : describe.skip)('CVE page in Chromium', () => {
  let browser: Browser;
  let test: TestStore;
  let server: { url: string; close: () => Promise<void> };
  let caseId: number;
  beforeAll(async () => {
    browser = await launchChromium();
    test = await createTestStore('sqlite');
    caseId = await seed(test.store);
    server = await listen(createWebApp({ ctx: createTestContext(test.store), slackEnabled: false }));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await test?.dispose();
    await browser?.close();
  });

  it('goes from the case page to the CVE page and shows the merged sources', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/cases/${caseId}`);
    await page.getByRole('link', { name: 'CVE-2021-44228' }).click();
    await page.waitForURL(`${server.url}/cves/CVE-2021-44228`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('CVE-2021-44228 · Remote code injection in Log4j');
    const rows = page.locator('table.sources tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).locator('td').nth(1).textContent()).toBe('OSV record');
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe('CISA KEV');
    await page.screenshot({ path: screenshotPath('cve-log4shell'), fullPage: true });
    await page.close();
  });

  it('looks a CVE up from the CVE list with the form', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'CVEs' }).click();
    await page.waitForURL(`${server.url}/cves`);
    await page.screenshot({ path: screenshotPath('cve-list'), fullPage: true });
    await page.getByLabel('CVE id').fill('cve-2014-6271');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(`${server.url}/cves/CVE-2014-6271`);
    expect(await page.locator('table.sources tbody tr').count()).toBe(2);
    await page.close();
  });

  it('shows a hint-only CVE with its warning', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.url}/cves/CVE-2014-3566`);
    await expect(page.locator('.notice').textContent()).resolves.toMatch(/awaiting vendor confirmation/);
    await page.screenshot({ path: screenshotPath('cve-hint-only'), fullPage: true });
    await page.goto(`${server.url}/cves/CVE-2023-36036`);
    await page.screenshot({ path: screenshotPath('cve-msrc'), fullPage: true });
    await page.close();
  });
});
