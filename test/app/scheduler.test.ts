import { expect, it } from 'vitest';
import { scheduleEntries, startScheduler } from '../../src/app/scheduler.js';
import { parseConfig } from '../../src/config/load.js';
import { createTestContext } from '../helpers/context.js';
import { describeEachStore } from '../helpers/stores.js';

const FEEDS = { feeds: [{ name: 'kev', kind: 'kev', url: 'http://127.0.0.1:9/kev.json', schedule: '*/5 * * * *' }] };

it('refuses a bad cron expression at start-up, naming the setting', () => {
  const config = parseConfig({ feeds: [{ name: 'kev', kind: 'kev', url: 'http://x.test/', schedule: 'every hour' }] });
  expect(() => scheduleEntries(config)).toThrow(/feeds\.0\.schedule/);
});

describeEachStore('scheduler', (s) => {
  it('only the lease holder enqueues, once per entry and minute', async () => {
    const { ctx } = createTestContext(s.store, FEEDS);
    const first = startScheduler(ctx, { owner: 'a' });
    const second = startScheduler(ctx, { owner: 'b' });
    try {
      expect(await first.fire('feeds.poll:kev')).toBe(true);
      expect(await first.fire('feeds.poll:kev')).toBe(true);
      expect(await second.fire('feeds.poll:kev')).toBe(false);
      expect(first.isLeader()).toBe(true);
      expect(second.isLeader()).toBe(false);
    } finally {
      await first.stop();
      await second.stop();
    }
    const jobs = await s.store.db.selectFrom('jobs').select(['kind', 'payload']).execute();
    expect(jobs).toEqual([{ kind: 'feeds.poll', payload: JSON.stringify({ feed: 'kev' }) }]);
  });
});

it('sweeps SLAs every 15 minutes and sends each digest channel\'s digest daily at its time in its own zone', () => {
  const config = parseConfig({
    timezone: 'UTC',
    routing: { channels: { '#patching': { timezone: 'Europe/Berlin', digest: { at: '09:30' } }, '#quiet': { quietHours: { start: '22:00', end: '07:00' } } } },
  });
  const entries = scheduleEntries(config);
  expect(entries.find((e) => e.name === 'sla.sweep')).toEqual({ name: 'sla.sweep', cron: '*/15 * * * *', job: { kind: 'sla.sweep', payload: {} } });
  expect(entries.filter((e) => e.name.startsWith('digest.send'))).toEqual([
    { name: 'digest.send:#patching', cron: '30 9 * * *', job: { kind: 'digest.send', payload: { channel: '#patching' } }, timezone: 'Europe/Berlin' },
  ]);
});
