import { randomUUID } from 'node:crypto';
import { schedule, validate, type ScheduledTask } from 'node-cron';
import type { Config } from '../config/schema.js';
import { PatchdeckError } from '../core/errors.js';
import { enqueueJob } from '../store/jobs.js';
import { acquireLease, releaseLease } from '../store/leases.js';
import type { WorkflowContext } from '../workflow/context.js';
import { channelTimeZone } from '../workflow/channel-policy.js';
import { JOB_KINDS } from '../workflow/jobs.js';

export const SCHEDULER_LEASE = 'scheduler';

export interface RunningScheduler {
  /** True while this instance holds the scheduler lease. */
  isLeader(): boolean;
  /** Enqueues what the cron entry `name` would; exposed so the schedule is testable without waiting. */
  fire(name: string): Promise<boolean>;
  stop(): Promise<void>;
}

export interface ScheduleEntry {
  name: string;
  cron: string;
  /** Only enqueues a job; the work happens in the worker. */
  job: { kind: string; payload: Record<string, unknown> };
  /** The zone the cron expression is read in; default: the team's `timezone`. */
  timezone?: string;
}

/** Every schedule Patchdeck runs, derived from config. Validated at start-up, naming the setting at fault. */
export function scheduleEntries(config: Config): ScheduleEntry[] {
  const feeds = config.feeds.map((feed, index) => {
    if (!validate(feed.schedule)) {
      throw new PatchdeckError('PD_CONFIG_INVALID', `config setting "feeds.${index}.schedule": "${feed.schedule}" is not a cron expression (e.g. "17 * * * *")`);
    }
    return { name: `feeds.poll:${feed.name}`, cron: feed.schedule, job: { kind: JOB_KINDS.feedsPoll, payload: { feed: feed.name } } };
  });
  // Housekeeping: approval requests past their TTL escalate, deferred cases come back, exemptions lapse.
  const housekeeping: ScheduleEntry[] = [
    { name: 'approvals.sweep', cron: '*/15 * * * *', job: { kind: JOB_KINDS.approvalsSweep, payload: {} } },
    { name: 'exemptions.expire', cron: '7 * * * *', job: { kind: JOB_KINDS.exemptionsExpire, payload: {} } },
    // SLA reminders and breach escalations, each once per case.
    { name: 'sla.sweep', cron: '*/15 * * * *', job: { kind: JOB_KINDS.slaSweep, payload: {} } },
    // Everything assessed once a day: time alone changes SLA standing, exemptions and stale hosts.
    { name: 'assess.full', cron: config.assess.fullSchedule, job: { kind: JOB_KINDS.assess, payload: { full: true } } },
  ];
  if (!validate(config.assess.fullSchedule)) {
    throw new PatchdeckError('PD_CONFIG_INVALID', `config setting "assess.fullSchedule": "${config.assess.fullSchedule}" is not a cron expression (e.g. "43 3 * * *")`);
  }
  // One daily digest per channel in digest mode, at its time in the channel's own zone.
  const digests: ScheduleEntry[] = Object.entries(config.routing.channels).flatMap(([channel, settings]) => {
    if (!settings.digest) return [];
    const [hour, minute] = settings.digest.at.split(':').map(Number);
    return [
      {
        name: `digest.send:${channel}`,
        cron: `${minute} ${hour} * * *`,
        job: { kind: JOB_KINDS.digestSend, payload: { channel } },
        timezone: channelTimeZone(config, channel),
      },
    ];
  });
  return [...feeds, ...housekeeping, ...digests];
}

/**
 * Starts the node-cron entries. Many instances may run; only the one holding the scheduler lease
 * enqueues, and the job's unique key (entry + minute) keeps a hand-over from enqueuing twice.
 */
export function startScheduler(ctx: WorkflowContext, options: { owner?: string; renewMs?: number; leaseMs?: number } = {}): RunningScheduler {
  const owner = options.owner ?? `scheduler-${randomUUID().slice(0, 8)}`;
  const renewMs = options.renewMs ?? 15_000;
  const leaseMs = options.leaseMs ?? 45_000;
  const entries = scheduleEntries(ctx.config);
  let leader = false;

  const renew = async () => {
    try {
      leader = (await acquireLease(ctx.store, { name: SCHEDULER_LEASE, owner, now: ctx.clock.now(), ttlMs: leaseMs })) !== null;
    } catch (error) {
      leader = false;
      ctx.logger.warn({ err: (error as Error).message }, 'could not renew the scheduler lease');
    }
  };

  const fire = async (name: string): Promise<boolean> => {
    const entry = entries.find((e) => e.name === name);
    if (!entry || !leader) return false;
    const now = ctx.clock.now();
    const minute = now.toISOString().slice(0, 16);
    await ctx.store.transaction((trx) => enqueueJob(trx, { ...entry.job, runAt: now, uniqueKey: `${entry.name}@${minute}` }, now));
    return true;
  };

  const tasks: ScheduledTask[] = entries.map((entry) =>
    schedule(entry.cron, () => void fire(entry.name).catch((error) => ctx.logger.error({ err: (error as Error).message }, 'schedule failed')), {
      name: entry.name,
      timezone: entry.timezone ?? ctx.config.timezone,
    }),
  );
  const ready = renew();
  const timer = setInterval(() => void renew(), renewMs);
  timer.unref();

  return {
    isLeader: () => leader,
    fire: async (name) => {
      await ready;
      return fire(name);
    },
    async stop() {
      clearInterval(timer);
      for (const task of tasks) await task.destroy();
      await ready;
      if (leader) await releaseLease(ctx.store, SCHEDULER_LEASE, owner).catch(() => undefined);
      leader = false;
    },
  };
}
