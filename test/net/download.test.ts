import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { downloadToFile } from '../../src/net/download.js';

const LIMITS = { maxBytes: 1024, timeoutMs: 2000, maxRedirects: 2 };

describe('downloadToFile URL checks', () => {
  const destination = () => path.join(mkdtempSync(path.join(tmpdir(), 'patchdeck-download-')), 'file');

  it('refuses odd IPv4 spellings and blocked literals before connecting, with artifact codes', async () => {
    for (const url of ['http://2130706433/pkg.deb', 'http://0177.0.0.1/pkg.deb', 'http://169.254.169.254/latest/meta-data']) {
      const file = destination();
      await expect(downloadToFile(url, file, LIMITS)).rejects.toMatchObject({ code: 'PD_ARTIFACT_BLOCKED_ADDRESS', status: 403 });
      expect(existsSync(file)).toBe(false);
    }
  });

  it('refuses an odd spelling of an allowed address, as the feed fetch does', async () => {
    const limits = { ...LIMITS, allowHosts: ['127.0.0.1'] };
    await expect(downloadToFile('http://2130706433:9/pkg.deb', destination(), limits)).rejects.toMatchObject({
      code: 'PD_ARTIFACT_BLOCKED_ADDRESS',
      message: expect.stringMatching(/unusual IPv4 form/),
    });
  });

  it('refuses a URL that is not http(s)', async () => {
    await expect(downloadToFile('file:///etc/passwd', destination(), LIMITS)).rejects.toMatchObject({ code: 'PD_ARTIFACT_URL' });
    await expect(downloadToFile('not a url', destination(), LIMITS)).rejects.toMatchObject({ code: 'PD_ARTIFACT_URL' });
  });
});
