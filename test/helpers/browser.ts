import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.PATCHDECK_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Where browser tests put screenshots (git-ignored). */
export const SCREENSHOT_DIR = path.resolve('test-results', 'screenshots');

/** Null when Chromium can be used, or the reason browser tests are skipped. */
export function chromiumUnavailableReason(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `Chromium not found at ${CHROMIUM_PATH} (set PATCHDECK_TEST_CHROMIUM)`;
}

const reason = chromiumUnavailableReason();
if (reason !== null) console.warn(`[patchdeck tests] skipping browser tests: ${reason}`);

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return path.join(SCREENSHOT_DIR, `${name}.png`);
}
