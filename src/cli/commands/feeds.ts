import path from 'node:path';
import { Option, type Command } from 'commander';
import { PatchdeckError } from '../../core/errors.js';
import { formatInZone } from '../../core/time.js';
import { listFeedKinds } from '../../feeds/index.js';
import { listAudit } from '../../store/audit.js';
import type { Executor } from '../../store/db.js';
import { listQuarantined, type QuarantineRecord } from '../../store/queries/quarantine.js';
import { describeFeedHealth } from '../../workflow/feed-health.js';
import { ingestFeedFile, ingestFeedUrl, pollFeeds, type IngestResult } from '../../workflow/feeds.js';
import { EXIT_FAILURE, UsageError, withContext, writeJson, writeTable, type CliDeps, type CliIo } from '../io.js';

function cliActor(io: CliIo): string {
  return io.env.USER ? `cli:${io.env.USER}` : 'cli';
}

function describeCounts(r: IngestResult): string {
  if (r.notModified) return 'not modified since the last fetch (HTTP 304)';
  const skipped = r.skipped > 0 ? ` (${r.skipped} of ${r.documents} documents unchanged, not parsed)` : '';
  // Shown only when some are: most feeds never share ids with another.
  const superseded = r.superseded > 0 ? `, ${r.superseded} superseded by a more authoritative source` : '';
  return `${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged${superseded}, ${r.failed} failed${skipped}`;
}

function reportSkipped(io: CliIo, result: IngestResult): void {
  for (const error of result.errors) io.stderr(`patchdeck: skipped ${error.location}: ${error.message}\n`);
}

/** The security audit event written when this document was refused (same feed, time, location and bytes). */
async function quarantineEvent(db: Executor, record: QuarantineRecord): Promise<{ seq: number; at: string; actor: string } | null> {
  const events = await listAudit(db, { subjectType: 'feed', subjectId: record.feed });
  const match = events.find((e) => {
    const after = (e.after ?? {}) as { location?: unknown; sha256?: unknown };
    return e.action === 'feed.document_quarantined' && e.at === record.receivedAt && after.location === record.location && after.sha256 === record.sha256;
  });
  return match === undefined ? null : { seq: match.seq, at: match.at, actor: match.actor };
}

export function registerFeedsCommands(program: Command, deps: CliDeps): void {
  const { io } = deps;
  const feeds = program.command('feeds').description('Read advisory feeds (CISA KEV, OSV, RSS/Atom news, vendor CSAF and MSRC, distribution notices) and FIRST EPSS scores into the database');

  feeds
    .command('ingest')
    .description('Read one feed document, a directory of them, or a URL, and store its advisories (unchanged records are skipped)')
    .addOption(new Option('--kind <kind>', 'feed format').choices(listFeedKinds()).makeOptionMandatory())
    .option('--file <path>', 'a feed file, or a directory whose files of that kind are read (OSV: one record per file, a JSON array, or a zip export)')
    .option('--url <url>', 'fetch the feed over HTTP(S), within the config fetch limits (size, time, redirects)')
    .option('--name <name>', 'feed name for feeds status and RSS hint ids (default: the kind)')
    .option('--full', 'parse every document, also those whose bytes are unchanged since the last run')
    .option('--json', 'print the counts and skipped records as JSON')
    .action(async (options: { kind: string; file?: string; url?: string; name?: string; full?: boolean; json?: boolean }) => {
      if ((options.file === undefined) === (options.url === undefined)) throw new UsageError('give exactly one of --file or --url');
      const result = await withContext(deps, (ctx) => {
        const common = { kind: options.kind, name: options.name, actor: cliActor(io), full: options.full === true };
        return options.file !== undefined
          ? ingestFeedFile(ctx, { ...common, path: path.resolve(io.cwd, options.file) })
          : ingestFeedUrl(ctx, { ...common, url: options.url! });
      });
      if (options.json) writeJson(io, result);
      else {
        io.stdout(`${result.feed} (${result.kind}) from ${result.location}: ${describeCounts(result)}\n`);
        reportSkipped(io, result);
      }
      if (result.failed > 0) deps.setExitCode(EXIT_FAILURE);
    });

  feeds
    .command('poll')
    .description(
      'Fetch and ingest every feed in config feeds, or one; a failing feed does not stop the others (exit 1 if any failed); a feed whose server asked to wait is skipped until then',
    )
    .option('--feed <name>', 'poll only this feed (its config name)')
    .option('--force', 'also poll feeds that are backing off after their server was busy or down')
    .option('--full', 'parse (and for CSAF providers fetch) every document, also those unchanged since the last run')
    .option('--json', 'print each feed outcome as JSON')
    .action(async (options: { feed?: string; force?: boolean; full?: boolean; json?: boolean }) => {
      const { result, timezone } = await withContext(deps, async (ctx) => ({
        result: await pollFeeds(ctx, { feed: options.feed, actor: cliActor(io), force: options.force === true, full: options.full === true }),
        timezone: ctx.config.timezone,
      }));
      if (options.json) writeJson(io, result);
      else if (result.outcomes.length === 0) io.stdout('no feeds configured (config feeds)\n');
      else {
        for (const outcome of result.outcomes) {
          if (outcome.deferredUntil !== null) {
            io.stdout(`${outcome.feed} (${outcome.kind}): backing off until ${formatInZone(outcome.deferredUntil, timezone)} (its server was busy or down; --force polls now)\n`);
          } else if (outcome.result) {
            io.stdout(`${outcome.feed} (${outcome.kind}): ${describeCounts(outcome.result)}\n`);
            reportSkipped(io, outcome.result);
          } else io.stderr(`patchdeck: [${outcome.error?.code}] feed ${outcome.feed} failed: ${outcome.error?.message}\n`);
        }
      }
      if (result.failed > 0 || result.outcomes.some((o) => (o.result?.failed ?? 0) > 0)) deps.setExitCode(EXIT_FAILURE);
    });

  feeds
    .command('status')
    .description(
      'Show each configured feed (and any ingested by hand): kind, source, last run, last success, consecutive failures, items, next run (in config timezone), last error',
    )
    .option('--json', 'print the feeds as JSON (times in UTC)')
    .action(async (options: { json?: boolean }) => {
      const { feeds: health, timezone } = await withContext(deps, async (ctx) => ({
        feeds: await describeFeedHealth(ctx),
        timezone: ctx.config.timezone,
      }));
      if (options.json) return writeJson(io, health);
      if (health.length === 0) return io.stdout('no feeds configured (config feeds) and none ingested yet\n');
      const when = (iso: string | null) => (iso === null ? null : formatInZone(iso, timezone));
      const nextRun = (f: (typeof health)[number]) => {
        const at = when(f.nextRunAt);
        return at !== null && f.nextAttemptAt !== null ? `${at} (backing off)` : at;
      };
      writeTable(
        io,
        ['FEED', 'KIND', 'SOURCE', 'LAST RUN', 'LAST SUCCESS', 'FAILURES', 'ITEMS', 'NEXT RUN', 'LAST ERROR'],
        health.map((f) => [f.name, f.kind, f.source, when(f.lastRunAt), when(f.lastSuccessAt), f.consecutiveFailures, f.items, nextRun(f), f.lastError]),
      );
    });

  const quarantine = feeds
    .command('quarantine')
    .description('Documents refused by their hash or OpenPGP signature check: never ingested, kept for you to look at (each is also a security audit event)');
  quarantine
    .command('list')
    .description('List quarantined documents, newest first: id, feed, reason, received (config timezone), location')
    .option('--feed <name>', 'only this feed (exit 1 when no such feed is configured or was ever ingested)')
    .option('--json', 'print the records as JSON (times in UTC)')
    .action(async (options: { feed?: string; json?: boolean }) => {
      const { rows, timezone } = await withContext(deps, async (ctx) => {
        const rows = await listQuarantined(ctx.store.db, options.feed === undefined ? {} : { feed: options.feed });
        if (options.feed !== undefined && rows.length === 0) {
          const known = (await describeFeedHealth(ctx)).map((f) => f.name);
          if (!known.includes(options.feed)) {
            throw new PatchdeckError('PD_FEED_UNKNOWN', `no feed named "${options.feed}" is configured or was ever ingested (known: ${known.join(', ') || 'none'}); see \`patchdeck feeds status\``, { status: 404 });
          }
        }
        return { rows, timezone: ctx.config.timezone };
      });
      if (options.json) return writeJson(io, rows);
      if (rows.length === 0) return io.stdout(`no quarantined documents${options.feed === undefined ? '' : ` for feed ${options.feed}`}\n`);
      writeTable(
        io,
        ['ID', 'FEED', 'REASON', 'RECEIVED', 'LOCATION'],
        rows.map((r) => [r.id, r.feed, r.reason, formatInZone(r.receivedAt, timezone), r.location]),
      );
    });
  quarantine
    .command('show')
    .description('Show one quarantined document: what failed, the sha256 of the bytes received, and its audit event')
    .argument('<id>', 'the record id from feeds quarantine list')
    .option('--json', 'print the record and its audit event as JSON')
    .action(async (idText: string, options: { json?: boolean }) => {
      const id = Number(idText);
      if (!Number.isInteger(id) || id <= 0) throw new UsageError(`quarantine id must be a positive whole number (got "${idText}")`);
      const { record, event, timezone } = await withContext(deps, async (ctx) => {
        // The quarantine stays small (refused documents only), so reading it whole is fine.
        const found = (await listQuarantined(ctx.store.db)).find((r) => r.id === id);
        if (found === undefined) {
          throw new PatchdeckError('PD_QUARANTINE_NOT_FOUND', `no quarantined document with id ${id}; see patchdeck feeds quarantine list`, { status: 404 });
        }
        return { record: found, event: await quarantineEvent(ctx.store.db, found), timezone: ctx.config.timezone };
      });
      if (options.json) return writeJson(io, { ...record, auditEvent: event });
      const lines: [string, string][] = [
        ['Feed', record.feed],
        ['Location', record.location],
        ['Reason', record.reason],
        ['Detail', record.detail],
        ['sha256', record.sha256],
        ['Received', formatInZone(record.receivedAt, timezone)],
        ['Audit event', event === null ? 'none found' : `#${event.seq} by ${event.actor}`],
      ];
      io.stdout(`Quarantined document ${record.id}\n`);
      for (const [label, value] of lines) io.stdout(`  ${`${label}:`.padEnd(13)}${value}\n`);
      io.stdout(`It was not ingested. Once the provider publishes good files (or its keys are fixed), run: patchdeck feeds poll --feed ${record.feed}\n`);
    });
}
