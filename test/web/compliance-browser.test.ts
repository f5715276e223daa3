import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createWebApp } from '../../src/web/app.js';
import { chromiumUnavailableReason, launchChromium, screenshotPath } from '../helpers/browser.js';
import { describeEachStore } from '../helpers/stores.js';
import { COMPLIANCE_CONFIG, seedCompliance } from './compliance-seed.js';
import { createTestContext, listen } from './seed.js';

const skipReason = chromiumUnavailableReason();

// The reason is printed by test/helpers/browser.ts when Chromium is missing.
(skipReason === null ? describe : describe.skip)('compliance and policy pages in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describeEachStore('pages', (db) => {
    it('navigates from the top bar to compliance, a group and the policy, on a desktop and a phone', async () => {
      await seedCompliance(createTestContext(db.store, COMPLIANCE_CONFIG));
      const server = await listen(createWebApp({ ctx: createTestContext(db.store, COMPLIANCE_CONFIG), slackEnabled: false }));
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(`${server.url}/`);
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Compliance' }).click();
        await page.waitForURL(`${server.url}/compliance`);
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Compliance');
        await page.screenshot({ path: screenshotPath(`compliance-${db.dialect}`), fullPage: true });
        await page.getByRole('link', { name: 'web', exact: true }).click();
        await page.waitForURL(`${server.url}/compliance/web`);
        expect(await page.getByRole('row', { name: /web-02/ }).textContent()).toContain('below');
        await page.screenshot({ path: screenshotPath(`compliance-group-${db.dialect}`), fullPage: true });
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policy' }).click();
        await page.waitForURL(`${server.url}/policy`);
        expect(await page.getByRole('table').first().getByRole('row').count()).toBe(13);
        await page.screenshot({ path: screenshotPath(`policy-${db.dialect}`), fullPage: true });
        await page.setViewportSize({ width: 390, height: 844 });
        await page.goto(`${server.url}/compliance/web`);
        // Nothing wider than the phone screen outside the scrollable tables.
        // A string, since the test project is compiled without DOM types.
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect(overflow).toBeLessThanOrEqual(0);
        await page.screenshot({ path: screenshotPath(`compliance-group-phone-${db.dialect}`), fullPage: true });
      } finally {
        await context.close();
        await server.close();
      }
    });
  });
});
