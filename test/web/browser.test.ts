import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createWebApp } from '../../src/web/app.js';
import { chromiumUnavailableReason, launchChromium, screenshotPath } from '../helpers/browser.js';
import { describeEachStore } from '../helpers/stores.js';
import { approvalMessage, createTestContext, listen, seedCase, seedConsoleMessage, seedExposure, seedHost, seedRollout, seedVote } from './seed.js';

const skipReason = chromiumUnavailableReason();

// The reason is printed by test/helpers/browser.ts when Chromium is missing.
(skipReason === null ? describe : describe.skip)('web console in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describeEachStore('pages and approval', (db) => {
    let server: { url: string; close: () => Promise<void> };
    let context: BrowserContext;
    let page: Page;
    let caseId: number;
    let rolloutId: number;

    beforeEach(async () => {
      caseId = await seedCase(db.store, {
        advisoryId: 'USN-6450-1',
        title: 'OpenSSL vulnerabilities <script>window.pwned=1</script>',
        severity: 'critical',
        cves: ['CVE-2023-5363', 'CVE-2023-5678'],
        summary: 'Several security issues were fixed in OpenSSL. A remote attacker could cause a denial of service or read memory.',
        dueInHours: 20,
      });
      const hosts: number[] = [];
      for (let i = 1; i <= 24; i++) hosts.push(await seedHost(db.store, `web-${String(i).padStart(2, '0')}.example.internal`));
      for (const hostId of hosts.slice(0, 6)) await seedExposure(db.store, caseId, 'USN-6450-1', hostId, 'libssl3');
      const titles = ['curl: heap overflow in SOCKS5 proxy handshake', 'sudo: privilege escalation via sudoedit', 'Jinja2: sandbox breakout via attr filter', 'urllib3: cookie header leaks on cross-origin redirect'];
      const severities = ['high', 'high', 'medium', 'low'];
      const others: number[] = [];
      for (const [i, title] of titles.entries()) {
        others[i] = await seedCase(db.store, { advisoryId: `ADV-${i}`, title, severity: severities[i]!, state: i === 0 ? 'deploying' : 'assessed', dueInHours: i === 1 ? -5 : 24 * (i + 2) });
      }
      await seedCase(db.store, { advisoryId: 'ADV-closed', title: 'ws: denial of service with many headers', severity: 'medium', state: 'completed' });
      rolloutId = await seedRollout(
        db.store,
        others[0]!,
        'deploying',
        hosts.map((hostId, i) => ({
          hostId,
          hostName: `web-${String(i + 1).padStart(2, '0')}.example.internal`,
          wave: i < 2 ? 0 : i < 12 ? 1 : 2,
          ring: i < 2 ? 'pilot' : 'servers',
          state: i < 2 ? 'verified' : i < 9 ? 'verified' : i === 9 ? 'failed' : i < 12 ? 'dispatched' : 'queued',
          ...(i === 9 ? { detail: 'apt-get exited 100: could not get lock /var/lib/dpkg/lock-frontend' } : {}),
        })),
      );
      await db.store.db.updateTable('rollouts').set({ current_wave: 1 }).where('id', '=', rolloutId).execute();
      await seedConsoleMessage(db.store, caseId, approvalMessage(caseId, 'OpenSSL vulnerabilities'));

      server = await listen(createWebApp({ ctx: createTestContext(db.store), slackEnabled: false }));
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
    });

    afterEach(async () => {
      await context?.close();
      await server?.close();
    });

    const signInAs = async (name: string) => {
      await page.goto(`${server.url}/login`);
      await page.getByRole('button', { name }).click();
      await page.waitForURL(`${server.url}/`);
    };

    it('signs in, opens the dashboard and a case, and approves it', async () => {
      await page.goto(`${server.url}/`);
      await page.getByRole('banner').getByRole('link', { name: 'Sign in' }).click();
      expect(await page.locator('.notice').textContent()).toContain('no real authentication yet');
      await page.screenshot({ path: screenshotPath(`${db.dialect}-login`), fullPage: true });
      await page.getByRole('button', { name: /Alice Example/ }).click();
      await page.waitForURL(`${server.url}/`);
      expect(await page.locator('.who-name').textContent()).toContain('Alice Example');
      expect(await page.locator('.card-sev-critical .card-value').textContent()).toBe('1');
      expect(await page.locator('.card-overdue .card-value').textContent()).toBe('1');
      await page.screenshot({ path: screenshotPath(`${db.dialect}-dashboard`), fullPage: true });

      // The title's <script> is text, never run.
      await page.locator('#open-h ~ .table-wrap').getByRole('link', { name: /OpenSSL vulnerabilities/ }).click();
      await page.waitForURL(`${server.url}/cases/${caseId}`);
      expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
      expect(await page.locator('h1').textContent()).toContain('<script>window.pwned=1</script>');
      expect(await page.locator('table.exposures tbody tr').count()).toBe(6);
      await page.screenshot({ path: screenshotPath(`${db.dialect}-case`), fullPage: true });

      await page.getByLabel('Comment').fill('Pilot on web first, please.');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await page.waitForURL(new RegExp(`/cases/${caseId}\\?vote=approved`));
      expect(await page.locator('.flash-ok').textContent()).toContain('the case is approved');
      const vote = page.locator('table.votes tbody tr').first();
      expect(await vote.textContent()).toMatch(/Alice Example\s*approval\s*approve\s*web/);
      expect(await vote.textContent()).toContain('Pilot on web first, please.');
      expect(await page.locator('.head-meta .badge').first().textContent()).toBe('approved');
      await page.screenshot({ path: screenshotPath(`${db.dialect}-case-approved`), fullPage: true });
    });

    it('shows the reason when the policy refuses a vote', async () => {
      await signInAs('Bob Builder');
      const response = page.waitForResponse((r) => r.url().endsWith(`/cases/${caseId}/votes`));
      await page.goto(`${server.url}/cases/${caseId}`);
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      expect((await response).status()).toBe(403);
      expect(await page.locator('.flash-error').textContent()).toContain('Your vote was not recorded: Bob Builder is not in the "approvers" group');
      expect(await page.locator('table.votes').count()).toBe(0);
      await page.screenshot({ path: screenshotPath(`${db.dialect}-case-refused`), fullPage: true });
    });

    it('acts on a console alert from the dashboard', async () => {
      await signInAs('Carol Checker');
      const alert = page.locator('article.message').first();
      expect(await alert.locator('h3').textContent()).toContain('OpenSSL vulnerabilities');
      await alert.getByRole('button', { name: 'Reject' }).click();
      // A reject needs a reason: the dashboard's button lands on the case page, which asks for it.
      await page.waitForURL(new RegExp(`/cases/${caseId}/votes`));
      expect(await page.locator('.flash-error').textContent()).toContain('say why you reject (a reason is required)');
      await page.getByLabel('Comment').fill('Breaks the billing batch.');
      await page.getByRole('button', { name: 'Reject', exact: true }).click();
      await page.waitForURL(new RegExp(`/cases/${caseId}\\?vote=rejected`));
      expect(await page.locator('table.votes tbody tr').first().textContent()).toMatch(/Carol Checker\s*approval\s*reject\s*web/);
    });

    it('shows a rollout page grouped by wave, refreshing while it runs', async () => {
      await page.goto(`${server.url}/rollouts/${rolloutId}`);
      expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('5');
      expect(await page.locator('section.panel-current h2').textContent()).toBe('Wave 1 · servers');
      expect(await page.locator('section.panel-current table.targets tbody tr').count()).toBe(10);
      expect(await page.getByText('could not get lock').isVisible()).toBe(true);
      await page.screenshot({ path: screenshotPath(`${db.dialect}-rollout`), fullPage: true });
    });

    it('shows the review of a finished case', async () => {
      const doneId = await seedCase(db.store, { advisoryId: 'USN-7604-1', title: 'sudo vulnerabilities', severity: 'high', state: 'completed', cves: ['CVE-2025-32462', 'CVE-2025-32463'] });
      const a = await seedHost(db.store, 'pilot-01.example.internal');
      const b = await seedHost(db.store, 'db-01.example.internal');
      await seedExposure(db.store, doneId, 'USN-7604-1', a, 'sudo');
      await seedExposure(db.store, doneId, 'USN-7604-1', b, 'sudo');
      await seedVote(db.store, doneId, 'alice', 'approve', 'Patch tonight.');
      const finished = await seedRollout(db.store, doneId, 'completed', [
        { hostId: a, hostName: 'pilot-01.example.internal', wave: 0, ring: 'pilot', state: 'verified' },
        { hostId: b, hostName: 'db-01.example.internal', wave: 1, ring: 'broad', state: 'reboot_failed', detail: 'host did not come back within 10 minutes' },
      ]);
      await page.goto(`${server.url}/cases/${doneId}`);
      await page.getByRole('link', { name: 'Post-implementation review' }).click();
      await page.waitForURL(`${server.url}/cases/${doneId}/review`);
      expect(await page.locator('#lessons-h + ul').textContent()).toContain('reboot');
      expect(await page.locator('table.targets').textContent()).toContain('host did not come back within 10 minutes');
      expect(await page.getByRole('link', { name: `#${finished}` }).getAttribute('href')).toBe(`/rollouts/${finished}`);
      await page.screenshot({ path: screenshotPath(`${db.dialect}-review`), fullPage: true });
    });

    it('reads well on a phone-sized screen', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}/cases/${caseId}`);
      // Nothing wider than the screen except inside scrollable table wrappers.
      // A string expression: it runs in the page, and this project's TypeScript has no DOM types.
      const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      await page.screenshot({ path: screenshotPath(`${db.dialect}-case-phone`), fullPage: true });
      expect(await overflow()).toBeLessThanOrEqual(0);
      await page.goto(`${server.url}/`);
      await page.screenshot({ path: screenshotPath(`${db.dialect}-dashboard-phone`), fullPage: true });
      expect(await overflow()).toBeLessThanOrEqual(0);
    });
  });
});
