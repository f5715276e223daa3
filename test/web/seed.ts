import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Application } from 'express';
import { createSilentLogger } from '../../src/app/logger.js';
import { fixedClock } from '../../src/core/clock.js';
import type { ChatMessage } from '../../src/core/messages.js';
import { parseConfig } from '../../src/config/load.js';
import type { Store } from '../../src/store/db.js';
import { toJson } from '../../src/store/json.js';
import type { WorkflowContext } from '../../src/workflow/context.js';

/** Rows written straight into the store, so page tests do not depend on the workflow services. */

export const NOW = '2026-11-23T10:00:00.000Z';

export const PEOPLE = [
  { id: 'alice', name: 'Alice Example', groups: ['approvers'] },
  { id: 'bob', name: 'Bob Builder', groups: ['ops'] },
  { id: 'carol', name: 'Carol Checker', groups: ['approvers'] },
];

export function createTestContext(store: Store, overrides: Record<string, unknown> = {}): WorkflowContext & { clock: ReturnType<typeof fixedClock> } {
  return {
    store,
    clock: fixedClock(NOW),
    logger: createSilentLogger(),
    config: parseConfig({
      timezone: 'Europe/Berlin',
      publicUrl: 'http://patchdeck.test',
      people: PEOPLE,
      web: { sessionSecret: 'test-session-secret-0123456789' },
      ...overrides,
    }),
  };
}

export async function listen(app: Application): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    // Closing twice (a test that restarts the app, then afterEach) waits for the first close.
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      })),
  };
}

const hours = (n: number) => new Date(Date.parse(NOW) + n * 3_600_000).toISOString();

export interface SeedCaseInput {
  advisoryId: string;
  title: string;
  severity?: string;
  state?: string;
  dueInHours?: number;
  summary?: string;
  url?: string | null;
  cves?: string[];
  kev?: Record<string, unknown> | null;
  cvss?: number | null;
  requestedBy?: string;
}

export async function seedCase(store: Store, input: SeedCaseInput): Promise<number> {
  await store.db
    .insertInto('advisories')
    .values({
      id: input.advisoryId,
      source: 'osv',
      trust: 'authoritative',
      title: input.title,
      summary: input.summary ?? 'A flaw lets a remote attacker run code.',
      url: input.url === undefined ? `https://advisories.example/${input.advisoryId}` : input.url,
      published_at: hours(-48),
      modified_at: hours(-48),
      withdrawn_at: null,
      cves: toJson(input.cves ?? []),
      affected: toJson([]),
      cvss_score: input.cvss === undefined ? 8.1 : input.cvss,
      cvss_vector: null,
      kev: input.kev ? toJson(input.kev) : null,
      vendor_severity: null,
      content_hash: `hash-${input.advisoryId}`,
      ingested_at: hours(-24),
      updated_at: hours(-24),
    })
    .execute();
  for (const cve of input.cves ?? []) {
    await store.db.insertInto('advisory_cves').values({ advisory_id: input.advisoryId, cve }).execute();
  }
  const row = await store.db
    .insertInto('cases')
    .values({
      advisory_id: input.advisoryId,
      title: input.title,
      severity: input.severity ?? 'high',
      state: input.state ?? 'awaiting_approval',
      reasons: toJson(['CVSS 8.1 (high)', 'internet-facing servers affected']),
      requested_by: input.requestedBy ?? 'patchdeck',
      due_at: hours(input.dueInHours ?? 24 * 5),
      created_at: hours(-24),
      updated_at: hours(-24),
      decided_at: null,
      plan_hash: null,
      channel: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function seedHost(store: Store, name: string, role = 'server'): Promise<number> {
  const row = await store.db
    .insertInto('hosts')
    .values({
      name,
      os: 'Ubuntu 22.04',
      role,
      criticality: 'medium',
      usage: 0.5,
      owner: 'ops',
      groups: toJson([]),
      source: 'test',
      created_at: hours(-100),
      updated_at: hours(-100),
      last_seen_at: hours(-1),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function seedExposure(store: Store, caseId: number, advisoryId: string, hostId: number, pkg: string): Promise<void> {
  await store.db
    .insertInto('exposures')
    .values({
      host_id: hostId,
      advisory_id: advisoryId,
      ecosystem: 'Ubuntu:22.04:LTS',
      package: pkg,
      installed: '3.0.2-0ubuntu1.10',
      fixed: '3.0.2-0ubuntu1.12',
      severity: 'high',
      reasons: toJson(['fix available', 'server']),
      detected_at: hours(-24),
      due_at: hours(24 * 5),
      status: 'open',
      resolved_at: null,
      case_id: caseId,
    })
    .execute();
}

export async function seedVote(store: Store, caseId: number, person: string, decision: 'approve' | 'reject', comment: string | null = null): Promise<void> {
  await store.db
    .insertInto('votes')
    .values({ case_id: caseId, stage: 'approval', person, decision, via: 'slack', comment, at: hours(-2) })
    .execute();
}

export async function seedRollout(
  store: Store,
  caseId: number,
  state: string,
  targets: { hostId: number; hostName: string; wave: number; ring: string; state: string; detail?: string }[],
  haltedReason: string | null = null,
): Promise<number> {
  const row = await store.db
    .insertInto('rollouts')
    .values({
      case_id: caseId,
      state,
      connector: 'simulator',
      started_by: 'carol',
      plan: toJson({}),
      current_wave: 0,
      halted_reason: haltedReason,
      created_at: hours(-3),
      updated_at: hours(-1),
      completed_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const rolloutId = Number(row.id);
  for (const t of targets) {
    await store.db
      .insertInto('rollout_targets')
      .values({
        rollout_id: rolloutId,
        host_id: t.hostId,
        host_name: t.hostName,
        wave: t.wave,
        ring: t.ring,
        state: t.state,
        detail: t.detail ?? null,
        attempts: t.state === 'queued' ? 0 : 1,
        updated_at: hours(-1),
      })
      .execute();
  }
  return rolloutId;
}

export async function seedConsoleMessage(store: Store, caseId: number | null, message: ChatMessage | string): Promise<void> {
  await store.db
    .insertInto('chat_messages')
    .values({
      case_id: caseId,
      purpose: 'approval_request',
      platform: 'console',
      channel: '#patching',
      ts: null,
      payload: typeof message === 'string' ? message : toJson(message),
      created_at: hours(-1),
      updated_at: hours(-1),
    })
    .execute();
}

export function approvalMessage(caseId: number, title: string): ChatMessage {
  return {
    kind: 'alert',
    caseId,
    title,
    severity: 'high',
    text: `Approval needed: ${title}`,
    facts: [
      { label: 'Hosts', value: '2' },
      { label: 'Due', value: '2026-11-28 11:00 CET' },
    ],
    sections: [{ heading: 'Why', lines: ['CVSS 8.1 (high)', 'internet-facing servers affected'] }],
    actions: [
      { id: 'approve', label: 'Approve', style: 'primary', value: `case:${caseId}:approve` },
      { id: 'reject', label: 'Reject', style: 'danger', value: `case:${caseId}:reject` },
    ],
    link: { label: 'Open the case', url: `http://patchdeck.test/cases/${caseId}` },
    footer: null,
  };
}

/** The form token a page carries (`<input type="hidden" name="csrf" value="…">`). */
export function csrfFrom(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no csrf field in the page');
  return match[1]!;
}

export function sessionCookieFrom(response: Response): string {
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('pd_session='));
  if (!cookie) throw new Error('no session cookie set');
  return cookie.split(';')[0]!;
}

/** Signs in through the login form, as a browser would; returns the session cookie. */
export async function signIn(url: string, person: string): Promise<string> {
  const page = await fetch(`${url}/login`);
  const anonymous = sessionCookieFrom(page);
  const csrf = csrfFrom(await page.text());
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: anonymous, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, person, next: '/' }).toString(),
  });
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`);
  return sessionCookieFrom(response);
}
