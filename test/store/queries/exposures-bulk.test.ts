import { expect, it } from 'vitest';
import {
  forEachStoredExposurePage,
  insertExposures,
  resolveExposures,
  updateExposures,
  type ExposureInsert,
  type StoredExposure,
} from '../../../src/store/queries/exposures.js';
import { insertAdvisory, osvFixture } from '../../helpers/advisories.js';
import { describeEachStore } from '../../helpers/stores.js';

const NOW = '2026-11-23T09:00:00.000Z';
const LATER = '2026-11-24T09:00:00.000Z';

describeEachStore('exposure bulk writes for assessment', (s) => {
  async function seed(): Promise<{ hosts: number[]; rows: StoredExposure[] }> {
    await insertAdvisory(s.store.db, osvFixture('USN-6859-1.json'));
    await insertAdvisory(s.store.db, osvFixture('USN-7270-1.json'));
    const hosts: number[] = [];
    for (const name of ['a', 'b', 'c']) {
      const row = await s.store.db
        .insertInto('hosts')
        .values({ name, os: '', role: 'server', criticality: 'low', usage: 0, owner: '', groups: '[]', source: 't', created_at: NOW, updated_at: NOW, last_seen_at: NOW, status: 'managed' })
        .returning('id')
        .executeTakeFirstOrThrow();
      hosts.push(Number(row.id));
    }
    await s.store.db
      .insertInto('exemptions')
      .values({ kind: 'exemption', host: 'a', group_name: null, advisory_id: 'USN-6859-1', package: null, control: 'VLAN', reason: '', approved_by: 'alice', created_by: 't', created_at: NOW, expires_at: LATER, expired_at: null, revoked_at: null })
      .execute();
    const row = (hostId: number, advisoryId: string): ExposureInsert => ({
      host_id: hostId,
      advisory_id: advisoryId,
      ecosystem: 'Ubuntu:22.04:LTS',
      package: 'openssh-server',
      installed: '1:8.9p1-3ubuntu0.6',
      fixed: '1:8.9p1-3ubuntu0.10',
      severity: 'medium',
      reasons: '["r"]',
      due_at: LATER,
      status: 'open',
      exemption_id: null,
      detected_at: NOW,
    });
    await insertExposures(s.store.db, hosts.flatMap((h) => [row(h, 'USN-6859-1'), row(h, 'USN-7270-1')]));
    const rows: StoredExposure[] = [];
    await forEachStoredExposurePage(s.store.db, {}, async (page) => void rows.push(...page));
    return { hosts, rows };
  }

  it('reads stored exposures narrowed by advisory, by host, or both', async () => {
    const { hosts, rows } = await seed();
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatchObject({ hostId: hosts[0], advisoryId: 'USN-6859-1', fixed: '1:8.9p1-3ubuntu0.10', exemption_id: null, detectedAt: NOW, status: 'open' });
    const visit = async (scope: Parameters<typeof forEachStoredExposurePage>[1]) => {
      const seen: string[] = [];
      await forEachStoredExposurePage(s.store.db, scope, async (page) => void seen.push(...page.map((r) => `${r.hostId}:${r.advisoryId}`)));
      return seen.sort();
    };
    expect(await visit({ advisoryIds: ['USN-7270-1'] })).toEqual(hosts.map((h) => `${h}:USN-7270-1`).sort());
    expect(await visit({ hostIds: [hosts[1]!] })).toEqual([`${hosts[1]}:USN-6859-1`, `${hosts[1]}:USN-7270-1`]);
    expect(await visit({ advisoryIds: ['USN-6859-1'], hostIds: [hosts[2]!, hosts[0]!] })).toEqual([`${hosts[0]}:USN-6859-1`, `${hosts[2]}:USN-6859-1`].sort());
  });

  it('updates many rows in one statement, with nulls and integers, and re-opens resolved ones', async () => {
    const { rows } = await seed();
    const [held, plain, gone] = rows;
    await resolveExposures(s.store.db, [gone!.id], LATER);
    await updateExposures(s.store.db, [
      { id: held!.id, installed: '1:8.9p1-3ubuntu0.7', fixed: null, severity: 'high', reasons: '["x","y"]', due_at: NOW, status: 'exempt', exemption_id: 1, detected_at: NOW, reopen: false },
      { id: plain!.id, installed: plain!.installed, fixed: plain!.fixed, severity: 'low', reasons: '["z"]', due_at: LATER, status: 'open', exemption_id: null, detected_at: NOW, reopen: false },
      { id: gone!.id, installed: gone!.installed, fixed: gone!.fixed, severity: 'medium', reasons: '["again"]', due_at: LATER, status: 'open', exemption_id: null, detected_at: LATER, reopen: true },
    ]);
    const after = await s.store.db.selectFrom('exposures').selectAll().where('id', 'in', [held!.id, plain!.id, gone!.id]).orderBy('id').execute();
    expect(after.map((r) => [r.installed, r.fixed, r.severity, r.reasons, r.status, r.exemption_id === null ? null : Number(r.exemption_id), r.detected_at, r.resolved_at])).toEqual([
      ['1:8.9p1-3ubuntu0.7', null, 'high', '["x","y"]', 'exempt', 1, NOW, null],
      ['1:8.9p1-3ubuntu0.6', '1:8.9p1-3ubuntu0.10', 'low', '["z"]', 'open', null, NOW, null],
      ['1:8.9p1-3ubuntu0.6', '1:8.9p1-3ubuntu0.10', 'medium', '["again"]', 'open', null, LATER, null],
    ]);
    // Rows not named are untouched.
    expect(await s.store.db.selectFrom('exposures').select('reasons').where('id', 'not in', [held!.id, plain!.id, gone!.id]).execute()).toEqual([{ reasons: '["r"]' }, { reasons: '["r"]' }, { reasons: '["r"]' }]);
  });
});
