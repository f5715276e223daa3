import { Option, type Command } from 'commander';
import { normalizeCveId, type CveView } from '../../core/cve-merge.js';
import { PatchdeckError } from '../../core/errors.js';
import { listFeedKinds } from '../../feeds/index.js';
import { listAdvisories } from '../../store/queries/advisories.js';
import { getCveView } from '../../store/queries/cve-view.js';
import { UsageError, withContext, writeJson, writeTable, type CliDeps, type CliIo } from '../io.js';

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--limit must be a whole number, 0 for all (got "${text}")`);
  return n;
}

function parseCve(text: string): string {
  try {
    return normalizeCveId(text);
  } catch (error) {
    if (error instanceof PatchdeckError) throw new UsageError(error.message);
    throw error;
  }
}

const SHOW_HELP = `
Every advisory that names the CVE is listed, most authoritative first: vendor (CSAF, MSRC),
distribution notice, OSV record, CISA KEV, RSS hint. Fixed versions are taken per package from
the most authoritative source that names it; other sources' differing fixes are shown beside it.
A CVE that only RSS hints mention is "reported by X, awaiting vendor confirmation".

Exit codes: 0 shown, 1 no advisory names the CVE, 2 bad usage.
`;

export function registerAdvisoriesCommands(program: Command, deps: CliDeps): void {
  const { io } = deps;
  const advisories = program.command('advisories').description('Look at stored advisories, one by one or merged per CVE');

  advisories
    .command('list')
    .description('List advisories, newest first: id, source, trust (hint = unverified RSS news), CVEs, published, title')
    .addOption(new Option('--source <source>', 'only advisories from this kind of source').choices(listFeedKinds().filter((kind) => kind !== 'epss')))
    .option('--cve <cve>', 'only advisories that name this CVE (CVE-YYYY-NNNN)')
    .option('--limit <n>', 'at most this many (0 for all)', '100')
    .option('--json', 'print the advisories as JSON')
    .action(async (options: { source?: string; cve?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(options.limit);
      const cve = options.cve === undefined ? undefined : parseCve(options.cve);
      const rows = await withContext(deps, (ctx) => listAdvisories(ctx.store.db, { source: options.source, cve, limit }));
      if (options.json) return writeJson(io, rows);
      if (rows.length === 0) return io.stdout('no advisories\n');
      const cves = (list: string[]) => (list.length <= 3 ? list.join(',') : `${list.slice(0, 3).join(',')} +${list.length - 3}`);
      writeTable(
        io,
        ['ID', 'SOURCE', 'TRUST', 'PUBLISHED', 'CVES', 'TITLE'],
        rows.map((r) => [r.id, r.source, r.trust, r.publishedAt?.slice(0, 10) ?? null, cves(r.cves) || null, r.title]),
      );
    });

  advisories
    .command('show <cve>')
    .description('Show one CVE merged from every source that names it: status, sources by authority, fixed versions, remediations, CVSS, KEV, EPSS')
    .option('--json', 'print the merged view as JSON')
    .addHelpText('after', SHOW_HELP)
    .action(async (cveText: string, options: { json?: boolean }) => {
      const cve = parseCve(cveText);
      const view = await withContext(deps, (ctx) => getCveView(ctx.store.db, cve));
      if (view === null) {
        throw new PatchdeckError('PD_CVE_NOT_FOUND', `no stored advisory names ${cve}; ingest a feed that covers it (patchdeck feeds ingest) or check the id`, { status: 404 });
      }
      if (options.json) return writeJson(io, view);
      printView(io, view);
    });
}

function printView(io: CliIo, view: CveView): void {
  const line = (text = '') => io.stdout(`${text}\n`);
  line(`${view.cve}: ${view.title ?? '(no title)'}`);
  line(`Status: ${view.statusText}`);
  const facts: string[] = [];
  if (view.cvss) facts.push(`CVSS ${view.cvss.score}${view.cvss.vector ? ` ${view.cvss.vector}` : ''} (${view.cvss.from})`);
  for (const v of view.vendorSeverities) facts.push(`rated ${v.severity} by ${v.from}`);
  if (view.kev) facts.push(`CISA KEV since ${view.kev.dateAdded}${view.kev.knownRansomwareCampaignUse ? ', used in ransomware' : ''}`);
  if (view.epss) facts.push(`EPSS ${view.epss.epss.toFixed(3)} (percentile ${view.epss.percentile.toFixed(3)}, ${view.epss.scoreDate})`);
  for (const e of view.exploitation) facts.push(`exploitation: ${e.details} (${e.from})`);
  if (facts.length > 0) line(`Facts: ${facts.join('; ')}`);
  line();
  line('Sources (most authoritative first):');
  writeTable(
    io,
    ['ID', 'SOURCE', 'AUTHORITY', 'PUBLISHED', 'WITHDRAWN', 'ROLE'],
    view.sources.map((s) => [s.id, s.source, s.authorityLabel, s.publishedAt?.slice(0, 10) ?? null, s.withdrawnAt?.slice(0, 10) ?? null, s.role]),
  );
  line();
  if (view.packages.length === 0 && view.remediations.length === 0 && view.notes.length === 0) {
    line('Fix: no source gives fix data yet.');
    return;
  }
  if (view.packages.length > 0) {
    line('Fixed versions (per package, from the most authoritative source naming it):');
    writeTable(
      io,
      ['ECOSYSTEM', 'PACKAGE', 'FIXED', 'FROM', 'OTHER SOURCES SAY'],
      view.packages.map((p) => [
        p.ecosystem,
        p.name,
        p.fixed.length > 0 ? p.fixed.join(', ') : 'no fix published',
        p.from,
        p.otherFixes.length > 0 ? p.otherFixes.map((o) => `${o.from}: ${o.fixed.join(', ') || 'no fix'}`).join('; ') : null,
      ]),
    );
  }
  if (view.remediations.length > 0) {
    line('Vendor remediations:');
    for (const r of view.remediations) {
      const extra = [r.kb, r.fixedBuild ? `build ${r.fixedBuild}` : null, r.restartRequired ? `restart: ${r.restartRequired}` : null, r.url].filter(Boolean).join(', ');
      line(`  ${r.category.replaceAll('_', ' ')} (${r.from}): ${r.details}${extra ? ` [${extra}]` : ''}`);
    }
  }
  for (const note of view.notes) line(`Fixed versions named by ${note.from}: ${note.text}`);
}
