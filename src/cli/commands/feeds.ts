import path from 'node:path';
import { Option, type Command } from 'commander';
import { formatInZone } from '../../core/time.js';
import { listFeedKinds } from '../../feeds/index.js';
import { describeFeedHealth } from '../../workflow/feed-health.js';
import { ingestFeedFile, ingestFeedUrl, pollFeeds, type IngestResult } from '../../workflow/feeds.js';
import { EXIT_FAILURE, UsageError, withContext, writeJson, writeTable, type CliDeps, type CliIo } from '../io.js';

function cliActor(io: CliIo): string {
  return io.env.USER ? `cli:${io.env.USER}` : 'cli';
}

function describeCounts(r: IngestResult): string {
  if (r.notModified) return 'not modified since the last fetch (HTTP 304)';
  return `${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.failed} failed`;
}

function reportSkipped(io: CliIo, result: IngestResult): void {
  for (const error of result.errors) io.stderr(`patchdeck: skipped ${error.location}: ${error.message}\n`);
}

export function registerFeedsCommands(program: Command, deps: CliDeps): void {
  const { io } = deps;
  const feeds = program.command('feeds').description('read advisory feeds (CISA KEV, OSV, RSS/Atom news, vendor CSAF) and FIRST EPSS scores into the database');

  feeds
    .command('ingest')
    .description('read one feed document, a directory of them, or a URL, and store its advisories (unchanged records are skipped)')
    .addOption(new Option('--kind <kind>', 'feed format').choices(listFeedKinds()).makeOptionMandatory())
    .option('--file <path>', 'a feed file, or a directory whose files of that kind are read (OSV: one record per file, or a JSON array)')
    .option('--url <url>', 'fetch the feed over HTTP(S), within the config fetch limits (size, time, redirects)')
    .option('--name <name>', 'feed name for feeds status and RSS hint ids (default: the kind)')
    .option('--json', 'print the counts and skipped records as JSON')
    .action(async (options: { kind: string; file?: string; url?: string; name?: string; json?: boolean }) => {
      if ((options.file === undefined) === (options.url === undefined)) throw new UsageError('give exactly one of --file or --url');
      const result = await withContext(deps, (ctx) => {
        const common = { kind: options.kind, name: options.name, actor: cliActor(io) };
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
      'fetch and ingest every feed in config feeds, or one; a failing feed does not stop the others (exit 1 if any failed); a feed whose server asked to wait is skipped until then',
    )
    .option('--feed <name>', 'poll only this feed (its config name)')
    .option('--force', 'also poll feeds that are backing off after their server was busy or down')
    .option('--json', 'print each feed outcome as JSON')
    .action(async (options: { feed?: string; force?: boolean; json?: boolean }) => {
      const { result, timezone } = await withContext(deps, async (ctx) => ({
        result: await pollFeeds(ctx, { feed: options.feed, actor: cliActor(io), force: options.force === true }),
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
          } else io.stderr(`patchdeck: feed ${outcome.feed} failed: ${outcome.error?.message} [${outcome.error?.code}]\n`);
        }
      }
      if (result.failed > 0 || result.outcomes.some((o) => (o.result?.failed ?? 0) > 0)) deps.setExitCode(EXIT_FAILURE);
    });

  feeds
    .command('status')
    .description(
      'show each configured feed (and any ingested by hand): kind, source, last run, last success, consecutive failures, items, next run (in config timezone), last error',
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
}
