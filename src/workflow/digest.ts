import { z } from 'zod';
import { buildDigestMessage, type DigestItem } from '../core/messages.js';
import { IMMEDIATE_SEVERITIES } from '../core/notification-policy.js';
import { PatchdeckError } from '../core/errors.js';
import { SEVERITIES, type Severity } from '../core/types.js';
import { fromJson, toJson } from '../store/json.js';
import { channelTimeZone } from './channel-policy.js';
import { recordChange, type WorkflowContext } from './context.js';
import { JOB_KINDS, type JobHandlers } from './jobs.js';
import type { Notifier } from './notifications.js';
import { SLA_CLOSED_STATES } from './sla-sweep.js';

/**
 * Digest mode (`routing.channels.<name>.digest.at`): Medium and Low alerts for the channel are not
 * posted one by one (chat.post leaves them, see channel-policy.ts) but listed in one message a day,
 * sent by `digest.send` at that time in the channel's zone. A case is listed once: the digest claims
 * its cases (`cases.digested_at`) and stores its message in the same transaction, then posts the
 * stored message, so a job run twice posts what is stored and claims nothing twice.
 */

const DigestPayload = z.object({ channel: z.string().min(1) }).passthrough();
const DIGEST_SEVERITIES: readonly Severity[] = SEVERITIES.filter((s) => !IMMEDIATE_SEVERITIES.includes(s));

export function digestPurpose(channel: string): string {
  return `digest:${channel}`;
}

/** Claims the channel's undigested Medium/Low cases and stores one digest message per platform; answers how many were listed. */
async function prepareDigest(ctx: WorkflowContext, notifiers: readonly Notifier[], channel: string): Promise<number> {
  const now = ctx.clock.now();
  const publicUrl = ctx.config.publicUrl.replace(/\/+$/, '');
  return ctx.store.transaction(async (trx) => {
    let query = trx
      .selectFrom('cases')
      .select(['id', 'advisory_id', 'title', 'severity', 'due_at'])
      .where('channel', '=', channel)
      .where('digested_at', 'is', null)
      .where('severity', 'in', DIGEST_SEVERITIES)
      .where('state', 'not in', SLA_CLOSED_STATES)
      // Cases already posted on their own (before the channel went to digest mode) are not listed again.
      .where((eb) => eb.not(eb.exists(eb.selectFrom('chat_messages').select('chat_messages.id').whereRef('chat_messages.case_id', '=', 'cases.id').where('chat_messages.purpose', '=', 'alert'))))
      .orderBy('id');
    if (ctx.store.dialect === 'postgres') query = query.forUpdate();
    const rows = await query.execute();
    if (rows.length === 0) return 0;
    const hosts = await trx
      .selectFrom('exposures')
      .select(['case_id', (eb) => eb.fn.count<number>('host_id').distinct().as('hosts')])
      .where('case_id', 'in', rows.map((r) => Number(r.id)))
      .groupBy('case_id')
      .execute();
    const items: DigestItem[] = rows.map((r) => ({
      caseId: Number(r.id),
      advisoryId: r.advisory_id,
      title: r.title,
      severity: r.severity as Severity,
      affectedHosts: Number(hosts.find((h) => Number(h.case_id) === Number(r.id))?.hosts ?? 0),
      dueAt: r.due_at,
    }));
    const message = buildDigestMessage(channel, items, { publicUrl, timezone: channelTimeZone(ctx.config, channel), now });
    const at = now.toISOString();
    await trx.updateTable('cases').set({ digested_at: at }).where('id', 'in', items.map((i) => i.caseId)).execute();
    for (const notifier of notifiers) {
      await trx
        .insertInto('chat_messages')
        .values({ case_id: null, purpose: digestPurpose(channel), platform: notifier.platform, channel, ts: null, payload: toJson(message), created_at: at, updated_at: at })
        .execute();
    }
    await recordChange(trx, ctx, {
      audit: [{ actor: 'patchdeck', action: 'digest.prepared', subjectType: 'chat_endpoint', subjectId: channel, after: { cases: items.map((i) => i.caseId) } }],
    });
    return items.length;
  });
}

export function createDigestJobHandlers(deps: { notifiers: readonly Notifier[] }): JobHandlers {
  return {
    [JOB_KINDS.digestSend]: async (ctx, job) => {
      const parsed = DigestPayload.safeParse(job.payload);
      if (!parsed.success) throw new PatchdeckError('PD_JOB_PAYLOAD', `${job.kind} job payload needs a channel`);
      const { channel } = parsed.data;
      await prepareDigest(ctx, deps.notifiers, channel);
      // Stored digests not yet posted: this run's, or one a failed run left behind. The console stores only.
      const unsent = await ctx.store.db
        .selectFrom('chat_messages')
        .select(['id', 'platform', 'payload'])
        .where('purpose', '=', digestPurpose(channel))
        .where('ts', 'is', null)
        .where('platform', '!=', 'console')
        .orderBy('id')
        .execute();
      const failures: string[] = [];
      for (const row of unsent) {
        const notifier = deps.notifiers.find((n) => n.platform === row.platform);
        const message = fromJson<Parameters<Notifier['post']>[1] | null>(row.payload, null);
        if (!notifier || !message) continue;
        try {
          const sent = await notifier.post(channel, message);
          await ctx.store.transaction(async (trx) => {
            await trx.updateTable('chat_messages').set({ channel: sent.channel, ts: sent.ts, updated_at: ctx.clock.now().toISOString() }).where('id', '=', row.id).execute();
            await recordChange(trx, ctx, {
              audit: [{ actor: 'patchdeck', action: 'chat.posted', subjectType: 'chat_endpoint', subjectId: channel, after: { purpose: 'digest', platform: row.platform, channel: sent.channel, ts: sent.ts } }],
            });
          });
        } catch (error) {
          failures.push(`${row.platform}: ${(error as Error).message}`);
        }
      }
      if (failures.length > 0) throw new Error(failures.join('; '));
    },
  };
}
