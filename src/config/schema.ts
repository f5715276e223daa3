import { z } from 'zod';
import { CRITICALITIES, SEVERITIES } from '../core/types.js';

const severity = z.enum(SEVERITIES);

/** `24h`, `7d`, `90d`, `30m`: durations as operators write them. */
export const durationPattern = /^(\d+)(m|h|d)$/;

export function parseDurationMs(text: string): number {
  const match = durationPattern.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const n = Number(match[1]);
  const unit = match[2];
  return n * (unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
}

const duration = z.string().regex(durationPattern, 'use a number and m, h or d, e.g. "24h" or "7d"');

export const FeedConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  kind: z.string(),
  url: z.string().url().optional(),
  file: z.string().optional(),
  /** node-cron expression; the cron entry only enqueues a poll job. */
  schedule: z.string().default('17 * * * *'),
});

export const PersonSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case id such as "alice"'),
  name: z.string(),
  groups: z.array(z.string()).default([]),
  slack: z.string().optional(),
  email: z.string().optional(),
});

export const RouteSchema = z.object({
  channel: z.string(),
  severity: z.array(severity).optional(),
  group: z.string().optional(),
  ecosystem: z.string().optional(),
});

const criticality = z.enum(CRITICALITIES);

export const ClassificationPolicySchema = z.object({
  /** Lowest CVSS base score for each level; below `medium` is low. */
  cvss: z
    .object({ critical: z.number().min(0).max(10).default(9), high: z.number().min(0).max(10).default(7), medium: z.number().min(0).max(10).default(4) })
    .default({ critical: 9, high: 7, medium: 4 }),
  kev: z
    .object({
      minimum: severity.default('high'),
      criticalWhenRansomware: z.boolean().default(true),
      criticalOnHosts: z.array(criticality).default(['high', 'critical']),
    })
    .default({ minimum: 'high', criticalWhenRansomware: true, criticalOnHosts: ['high', 'critical'] }),
  raiseOnHosts: z.array(criticality).default(['critical']),
});

export const ConfigSchema = z.object({
  timezone: z.string().default('UTC'),
  publicUrl: z.string().url().default('http://localhost:3000'),
  port: z.number().int().min(0).max(65535).default(3000),
  databaseUrl: z.string().default('sqlite:./data/patchdeck.db'),
  demo: z
    .object({
      enabled: z.boolean().default(false),
      fleetSize: z.number().int().min(1).max(100_000).default(300),
      seed: z.number().int().default(42),
    })
    .default({ enabled: false, fleetSize: 300, seed: 42 }),
  feeds: z.array(FeedConfigSchema).default([]),
  fetch: z
    .object({
      maxBytes: z.number().int().positive().default(50 * 1024 * 1024),
      timeoutMs: z.number().int().positive().default(30_000),
      maxRedirects: z.number().int().min(0).max(20).default(5),
    })
    .default({ maxBytes: 50 * 1024 * 1024, timeoutMs: 30_000, maxRedirects: 5 }),
  policy: z
    .object({
      alertThreshold: severity.default('high'),
      sla: z
        .object({ critical: duration.default('24h'), high: duration.default('7d'), medium: duration.default('30d'), low: duration.default('90d') })
        .default({ critical: '24h', high: '7d', medium: '30d', low: '90d' }),
      /** How exposures are classified; absent means the built-in policy (DEFAULT_CLASSIFICATION_POLICY in core/classify.ts). */
      classification: ClassificationPolicySchema.optional(),
    })
    .default({ alertThreshold: 'high', sla: { critical: '24h', high: '7d', medium: '30d', low: '90d' } }),
  approvals: z
    .object({ approversGroup: z.string().default('approvers'), quorum: z.number().int().min(1).default(1) })
    .default({ approversGroup: 'approvers', quorum: 1 }),
  people: z.array(PersonSchema).default([]),
  routing: z
    .object({ defaultChannel: z.string().default('#patching'), rules: z.array(RouteSchema).default([]) })
    .default({ defaultChannel: '#patching', rules: [] }),
  rollout: z
    .object({
      connector: z.string().default('simulator'),
      pilotGroup: z.string().default('pilot'),
      /** Used when no host is in the pilot group: the least critical N% of the targets. */
      pilotPercent: z.number().min(1).max(100).default(10),
      waveSize: z.number().int().min(1).default(50),
      failureThreshold: z.number().min(0).max(1).default(0.2),
      order: z.enum(['servers-first', 'workstations-first']).default('servers-first'),
    })
    .default({ connector: 'simulator', pilotGroup: 'pilot', pilotPercent: 10, waveSize: 50, failureThreshold: 0.2, order: 'servers-first' }),
  connectors: z
    .object({
      simulator: z
        .object({
          seed: z.number().int().default(1),
          failureRate: z.number().min(0).max(1).default(0.02),
          rebootFailureRate: z.number().min(0).max(1).default(0.01),
          delayMs: z.number().int().min(0).default(0),
        })
        .default({ seed: 1, failureRate: 0.02, rebootFailureRate: 0.01, delayMs: 0 }),
      shell: z
        .object({
          /** argv templates; `{host}`, `{package}`, `{version}` are replaced inside single arguments. */
          install: z.array(z.string()).min(1),
          reboot: z.array(z.string()).min(1).optional(),
          timeoutMs: z.number().int().positive().default(600_000),
        })
        .optional(),
    })
    .default({ simulator: { seed: 1, failureRate: 0.02, rebootFailureRate: 0.01, delayMs: 0 } }),
  slack: z
    .object({
      botToken: z.string().optional(),
      signingSecret: z.string().optional(),
      apiUrl: z.string().url().optional(),
      botUserId: z.string().optional(),
      /** With botUserId and botId both set, Bolt never calls auth.test on incoming requests. */
      botId: z.string().optional(),
    })
    .default({}),
  web: z.object({ sessionSecret: z.string().min(16).optional() }).default({}),
  inventory: z
    .object({
      /** A managed or unmanaged host not seen by any import or scan for this many days is listed as stale. */
      staleAfterDays: z.number().int().min(1).default(30),
    })
    .default({ staleAfterDays: 30 }),
  worker: z
    .object({ concurrency: z.number().int().min(1).max(64).default(4), pollMs: z.number().int().min(10).default(500) })
    .default({ concurrency: 4, pollMs: 500 }),
});

export type Config = z.infer<typeof ConfigSchema>;
export type FeedConfig = z.infer<typeof FeedConfigSchema>;
export type Person = z.infer<typeof PersonSchema>;
