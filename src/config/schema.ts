import { z } from 'zod';
import { MISSION_LEVELS } from '../core/ssvc.js';
import { SEVERITIES } from '../core/types.js';

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

export const WEB_AUTH_MODES = ['demo', 'oidc'] as const;

export const PersonSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case id such as "alice"'),
  name: z.string(),
  groups: z.array(z.string()).default([]),
  slack: z.string().optional(),
  /** Microsoft Entra (AAD) object id of the person's Teams account. */
  teams: z.string().optional(),
  email: z.string().optional(),
  /** The `sub` claim of the person's account at the OpenID Connect provider; matched before email. */
  oidcSubject: z.string().min(1).optional(),
});

export const RouteSchema = z.object({
  channel: z.string(),
  severity: z.array(severity).optional(),
  group: z.string().optional(),
  ecosystem: z.string().optional(),
  /** Matches when any affected host's `owner` (a person id or an email, as the inventory writes it) is listed; case does not count. */
  owners: z.array(z.string().trim().min(1)).min(1).optional(),
  /** After an SLA breach, a case routed here is escalated to this channel (`#…`) or person id. */
  escalateTo: z.string().min(1).optional(),
});

const clockTime = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a 24-hour time such as "07:00"');
const timeZone = z.string().refine((zone) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as "Europe/Berlin"');

/** How one routing channel wants to be told: quiet hours and digest mode, in the channel's time zone. */
export const ChannelSettingsSchema = z.object({
  /** IANA zone of the people reading the channel; absent: the top-level `timezone`. */
  timezone: timeZone.optional(),
  /** Non-critical posts due between start and end wait until end; critical ones go through. */
  quietHours: z.object({ start: clockTime, end: clockTime, timezone: timeZone.optional() }).optional(),
  /** Medium and Low alerts are listed in one message a day at this time instead of one post each. */
  digest: z.object({ at: clockTime }).optional(),
});

const mission = z.enum(MISSION_LEVELS);
const severityRange = z
  .object({ min: severity, max: severity })
  .refine((r) => SEVERITIES.indexOf(r.min) <= SEVERITIES.indexOf(r.max), 'min must not be above max');
const DEFAULT_DECISION_SEVERITIES = {
  act: { min: 'critical', max: 'critical' },
  attend: { min: 'high', max: 'high' },
  'track*': { min: 'medium', max: 'high' },
  track: { min: 'low', max: 'medium' },
} as const;

export const ClassificationPolicySchema = z.object({
  /** Lowest CVSS base score for each level; below `medium` is low. */
  cvss: z
    .object({ critical: z.number().min(0).max(10).default(9), high: z.number().min(0).max(10).default(7), medium: z.number().min(0).max(10).default(4) })
    .default({ critical: 9, high: 7, medium: 4 }),
  kev: z
    .object({
      minimum: severity.default('high'),
      criticalWhenRansomware: z.boolean().default(true),
    })
    .default({ minimum: 'high', criticalWhenRansomware: true }),
  /** The SSVC-style tree's settings (core/ssvc.ts); the tree itself is CISA's. */
  ssvc: z
    .object({
      epssActivePercentile: z.number().min(0).max(1).default(0.95),
      missionByCriticality: z
        .object({ critical: mission.default('high'), high: mission.default('medium'), medium: mission.default('medium'), low: mission.default('low') })
        .default({ critical: 'high', high: 'medium', medium: 'medium', low: 'low' }),
      exposedGroups: z.array(z.string()).default(['internet-facing']),
      /** The severities each SSVC decision allows; the published severity is held inside the range. */
      severityByDecision: z
        .object({
          act: severityRange.default({ min: 'critical', max: 'critical' }),
          attend: severityRange.default({ min: 'high', max: 'high' }),
          'track*': severityRange.default({ min: 'medium', max: 'high' }),
          track: severityRange.default({ min: 'low', max: 'medium' }),
        })
        .default(DEFAULT_DECISION_SEVERITIES),
    })
    .default({
      epssActivePercentile: 0.95,
      missionByCriticality: { critical: 'high', high: 'medium', medium: 'medium', low: 'low' },
      exposedGroups: ['internet-facing'],
      severityByDecision: DEFAULT_DECISION_SEVERITIES,
    }),
});

const slaTable = z.object({ critical: duration.optional(), high: duration.optional(), medium: duration.optional(), low: duration.optional() });

/** A baseline: the lowest version of each package every host of `group` must run. */
export const BaselineSchema = z.object({
  group: z.string().min(1),
  packages: z.array(z.object({ ecosystem: z.string().min(1), name: z.string().min(1), minVersion: z.string().min(1) })).min(1),
});

/**
 * Where the offline copy of a package can be downloaded: for host packages of `ecosystem` (exact, or a
 * prefix ending in `*` such as `Ubuntu:*`) and optionally only the named `packages`, `url` is a template
 * with `{name}`, `{version}` (epoch removed, as in package file names), `{evr}` (the version as written)
 * and `{ecosystem}`. `checksumUrl`, same template, names a file whose first 64-hex-digit word is the sha256.
 */
export const ArtifactSourceSchema = z.object({
  ecosystem: z.string().min(1),
  packages: z.array(z.string()).optional(),
  url: z.string().regex(/^https?:\/\//, 'an http(s) URL template such as "http://mirror.internal/pool/{name}_{version}_amd64.deb"'),
  checksumUrl: z.string().regex(/^https?:\/\//, 'an http(s) URL template').optional(),
});

export const ApprovalRuleSchema = z.object({
  name: z.string().optional(),
  severity: z.array(severity).min(1).optional(),
  /** Matches when any affected host is in this group. */
  group: z.string().optional(),
  quorum: z.number().int().min(1).optional(),
  approversGroup: z.string().optional(),
  vetoGroup: z.string().optional(),
  rejectsNeeded: z.number().int().min(1).optional(),
  requireRejectReason: z.boolean().optional(),
  ttl: duration.optional(),
  escalateTo: z.string().optional(),
  /** Chat votes are refused with a link to the web console, where the approver signs in again. */
  requireReauth: z.boolean().optional(),
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
      connectTimeoutMs: z.number().int().positive().default(10_000),
      /** Host names or IPs a feed may reach although they are loopback, private or link-local. */
      allowHosts: z.array(z.string().min(1)).default([]),
      /** Wait after a failed poll of a feed whose server was busy or down, doubling per failure up to backoffMaxMs. */
      backoffBaseMs: z.number().int().positive().default(60_000),
      backoffMaxMs: z.number().int().positive().default(6 * 3_600_000),
    })
    .default({
      maxBytes: 50 * 1024 * 1024,
      timeoutMs: 30_000,
      maxRedirects: 5,
      connectTimeoutMs: 10_000,
      allowHosts: [],
      backoffBaseMs: 60_000,
      backoffMaxMs: 6 * 3_600_000,
    }),
  /** Patch artifact cache (`patchdeck patches fetch`): content-addressed files under `dir/sha256/`. */
  artifacts: z
    .object({
      dir: z.string().default('./data/artifacts'),
      maxBytes: z.number().int().positive().default(4 * 1024 * 1024 * 1024),
      timeoutMs: z.number().int().positive().default(600_000),
      sources: z.array(ArtifactSourceSchema).default([]),
    })
    .default({ dir: './data/artifacts', maxBytes: 4 * 1024 * 1024 * 1024, timeoutMs: 600_000, sources: [] }),
  policy: z
    .object({
      alertThreshold: severity.default('high'),
      sla: z
        .object({ critical: duration.default('24h'), high: duration.default('7d'), medium: duration.default('30d'), low: duration.default('90d') })
        .default({ critical: '24h', high: '7d', medium: '30d', low: '90d' }),
      /** How exposures are classified; absent means the built-in policy (DEFAULT_CLASSIFICATION_POLICY in core/classify.ts). */
      classification: ClassificationPolicySchema.optional(),
      /** Stricter SLAs for some host groups; the strictest of a host's groups applies. */
      slaByGroup: z.record(z.string(), slaTable).default({}),
      /** Longest an exemption or mitigation may run before it must be renewed. */
      maxExemption: duration.default('180d'),
    })
    .default({ alertThreshold: 'high', sla: { critical: '24h', high: '7d', medium: '30d', low: '90d' }, slaByGroup: {}, maxExemption: '180d' }),
  baselines: z.array(BaselineSchema).default([]),
  approvals: z
    .object({
      approversGroup: z.string().default('approvers'),
      quorum: z.number().int().min(1).default(1),
      /** A reject from this group rejects whatever the approvals; its members may reject but not approve unless also approvers. */
      vetoGroup: z.string().optional(),
      /** Rejects from ordinary approvers needed to reject (a veto always rejects at once). */
      rejectsNeeded: z.number().int().min(1).default(1),
      requireRejectReason: z.boolean().default(false),
      /** An unanswered request expires after this long and is escalated to `escalateTo`; the case keeps waiting. */
      ttl: duration.optional(),
      escalateTo: z.string().optional(),
      /** Person ids who run rollouts: separation of duties keeps them from approving. */
      deployers: z.array(z.string()).default([]),
      /** First rule matching the case's severity and affected host groups wins; fields it leaves out come from above. */
      rules: z.array(ApprovalRuleSchema).default([]),
    })
    .default({ approversGroup: 'approvers', quorum: 1, rejectsNeeded: 1, requireRejectReason: false, deployers: [], rules: [] }),
  people: z.array(PersonSchema).default([]),
  /** A YAML/JSON file listing more people (same fields as `people`), relative to the config file; merged with `people` by load.ts. */
  peopleFile: z.string().min(1).optional(),
  routing: z
    .object({
      defaultChannel: z.string().default('#patching'),
      rules: z.array(RouteSchema).default([]),
      /** Where operational notices (a feed failing again and again) go; absent: defaultChannel. */
      opsChannel: z.string().optional(),
      /** Managers' channel: every completed rollout's review summary is posted here too (besides the case thread). */
      reviewChannel: z.string().min(1).optional(),
      /** Channel name (as rules write it) → quiet hours and digest mode. */
      channels: z.record(z.string(), ChannelSettingsSchema).default({}),
      /** A reminder is posted once this fraction of a case's SLA window has passed (0 turns reminders off). */
      slaReminderAt: z.number().min(0).max(1).default(0.75),
    })
    .default({ defaultChannel: '#patching', rules: [], channels: {}, slaReminderAt: 0.75 }),
  /** End-user reboot notices: the host's owner is asked before a rollout reboots it. */
  maintenance: z
    .object({
      /** Ask owners (hosts.owner naming a person by id or email) before rebooting; off: reboot at once. */
      rebootNotices: z.boolean().default(true),
      /** Time between the notice and the reboot when the owner does not answer. */
      rebootNoticeLead: duration.default('1h'),
      /** How far one "Postpone" moves the reboot. */
      rebootPostpone: duration.default('2h'),
      rebootPostponeLimit: z.number().int().min(0).max(20).default(2),
      /** Hard limit after the notice: no postpone moves the reboot past it. */
      rebootDeadline: duration.default('24h'),
    })
    .default({ rebootNotices: true, rebootNoticeLead: '1h', rebootPostpone: '2h', rebootPostponeLimit: 2, rebootDeadline: '24h' }),
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
  /** How rollouts use the offline artifact cache (`patchdeck patches fetch`). */
  deploy: z
    .object({
      /** A host whose package has no verified cached artifact fails instead of installing from the network (off for the demo). */
      requireOfflineArtifacts: z.boolean().default(false),
    })
    .default({ requireOfflineArtifacts: false }),
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
          /** argv templates; `{host}`, `{package}`, `{version}`, `{artifact}`, `{artifactSha256}`, `{artifactName}` are replaced inside single arguments. */
          install: z.array(z.string()).min(1),
          reboot: z.array(z.string()).min(1).optional(),
          timeoutMs: z.number().int().positive().default(600_000),
          /** Copies the target's cached artifacts to `{host}` over SFTP before the install; `{artifact}` is then the remote path. */
          ssh: z
            .object({
              user: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'a login name, not starting with "-"'),
              port: z.number().int().min(1).max(65535).default(22),
              identityFile: z.string().min(1),
              knownHostsFile: z.string().min(1),
              remoteDir: z.string().regex(/^\/[A-Za-z0-9._+~\/-]*$/, 'an absolute path of letters, digits and ._+~/-').default('/var/tmp/patchdeck'),
              readyTimeoutMs: z.number().int().positive().default(20_000),
            })
            .optional(),
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
  teams: z
    .object({
      appId: z.string().optional(),
      appPassword: z.string().optional(),
      /** Single-tenant bots: activities from other tenants are refused and tokens come from this tenant. */
      tenantId: z.string().optional(),
      /** Where the Bot Connector's signing keys are described; tests point it at a fake. */
      openIdMetadataUrl: z.string().url().optional(),
      /** Token authority for outgoing calls (`<loginUrl>/oauth2/v2.0/token`); tests point it at a fake. */
      loginUrl: z.string().url().optional(),
      /** Channel name (as routing writes it, e.g. `#patching`) → Teams conversation id. */
      channels: z.record(z.string(), z.string()).default({}),
    })
    .default({ channels: {} }),
  web: z
    .object({
      sessionSecret: z.string().min(16).optional(),
      auth: z
        .object({
          /** `demo`: pick a configured person (not authentication); `oidc`: sign in at an OpenID Connect provider. */
          mode: z.enum(WEB_AUTH_MODES).default('demo'),
          /** A critical vote confirmed on the web needs a sign-in at the provider no older than this (oidc mode). */
          reauthMaxAge: duration.default('5m'),
          oidc: z
            .object({
              issuer: z.string().url(),
              clientId: z.string().min(1),
              /** Also from PATCHDECK_OIDC_CLIENT_SECRET; absent: a public client (PKCE only). */
              clientSecret: z.string().min(1).optional(),
              /** Where the provider sends the browser back; absent: `<publicUrl>/login/callback`. Register it at the provider. */
              redirectUrl: z.string().url().optional(),
              /** Plain-http issuers are refused unless this is set (tests and local providers on loopback). */
              allowHttpIssuer: z.boolean().default(false),
            })
            .optional(),
        })
        .default({ mode: 'demo', reauthMaxAge: '5m' })
        .refine((auth) => auth.mode !== 'oidc' || auth.oidc !== undefined, {
          message: 'mode "oidc" needs web.auth.oidc with issuer and clientId',
          path: ['oidc'],
        })
        .refine((auth) => auth.oidc === undefined || auth.oidc.allowHttpIssuer || auth.oidc.issuer.startsWith('https:'), {
          message: 'the issuer must be an https URL (set allowHttpIssuer only for a provider on loopback in tests)',
          path: ['oidc', 'issuer'],
        }),
    })
    .default({ auth: { mode: 'demo', reauthMaxAge: '5m' } }),
  inventory: z
    .object({
      /** A managed or unmanaged host not seen by any import or scan for this many days is listed as stale. */
      staleAfterDays: z.number().int().min(1).default(30),
    })
    .default({ staleAfterDays: 30 }),
  /** Feed runs and imports queue assessments of what they changed; this cron entry (in `timezone`) assesses everything daily, so expired exemptions and policy changes apply without new data. */
  assess: z.object({ fullSchedule: z.string().default('43 3 * * *') }).default({ fullSchedule: '43 3 * * *' }),
  worker: z
    .object({ concurrency: z.number().int().min(1).max(64).default(4), pollMs: z.number().int().min(10).default(500) })
    .default({ concurrency: 4, pollMs: 500 }),
});

export type Config = z.infer<typeof ConfigSchema>;
export type FeedConfig = z.infer<typeof FeedConfigSchema>;
export type ArtifactSource = z.infer<typeof ArtifactSourceSchema>;
export type Person = z.infer<typeof PersonSchema>;
export type ApprovalRuleConfig = z.infer<typeof ApprovalRuleSchema>;
export type ChannelSettings = z.infer<typeof ChannelSettingsSchema>;
