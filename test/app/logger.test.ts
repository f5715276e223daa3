import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger } from '../../src/app/logger.js';

function capture() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream, text: () => chunks.join('') };
}

describe('logger', () => {
  it('writes one JSON object per event by default, for log collectors', () => {
    const out = capture();
    createLogger({ level: 'info', destination: out.stream }).info({ feed: 'cisa-kev', added: 3 }, 'feed ingested');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, app: 'patchdeck', feed: 'cisa-kev', added: 3, msg: 'feed ingested' });
  });

  it('writes readable lines for a person at a terminal', () => {
    const out = capture();
    createLogger({ level: 'info', format: 'pretty', destination: out.stream }).warn({ feed: 'cisa-kev' }, 'feed failed');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: feed failed {"feed":"cisa-kev"}\n$/);
    expect(() => JSON.parse(text)).toThrow();
  });

  it('chooses pretty for a terminal and JSON for files and pipes, unless PATCHDECK_LOG_FORMAT says', () => {
    expect(chooseLogFormat({}, true)).toBe('pretty');
    expect(chooseLogFormat({}, false)).toBe('json');
    expect(chooseLogFormat({ PATCHDECK_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(chooseLogFormat({ PATCHDECK_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(() => chooseLogFormat({ PATCHDECK_LOG_FORMAT: 'xml' }, false)).toThrow(expect.objectContaining({ code: 'PD_CONFIG_LOG_FORMAT', message: expect.stringContaining('PATCHDECK_LOG_FORMAT') }));
  });
});
