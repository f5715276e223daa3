import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createSilentLogger } from '../src/app/logger.js';
import { systemClock } from '../src/app/system-clock.js';
import { parseConfig } from '../src/config/load.js';
import { affectedPackageNames } from '../src/core/matching.js';
import type { AdvisoryInput } from '../src/core/types.js';
import { getFeedPlugin, listFeedKinds } from '../src/feeds/index.js';
import { migrateToLatest, openStore, type Store } from '../src/store/db.js';
import { advisoryRow } from '../src/store/queries/advisories.js';
import type { WorkflowContext } from '../src/workflow/context.js';
import { contentHash, ingestFeedFile, type IngestResult } from '../src/workflow/feeds.js';
import type { BenchFigure, Benchmark } from './index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEV_FILE = path.join(ROOT, 'test/fixtures/feeds/kev/known_exploited_vulnerabilities.json');
const MSRC_DIR = path.join(ROOT, 'test/fixtures/feeds/msrc');
const POSTGRES_URL = process.env.PATCHDECK_BENCH_POSTGRES_URL ?? process.env.PATCHDECK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OSV_RECORDS = 10_000;
const FULL_TARGET_MS = 10_000;
const REINGEST_TARGET_MS = 1_000;
/** The naive baseline commits once per row; past this budget it is extrapolated from the rows done. */
const NAIVE_BUDGET_MS = 20_000;

/** Deterministic pseudo-random numbers (mulberry32), so every run ingests the same records. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VECTORS = [
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
  'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N',
  'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N',
  'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
];

/**
 * One OSV record in the shape its ecosystem publishes: GHSA (npm, PyPI, Maven, Go with aliases and
 * CVSS vectors, sometimes two ranges or a version list or no fix), USN (source package, binaries,
 * epochs, `upstream`), DSA/ALSA (CVEs in `related`, RPM epochs), Go (a GIT range beside SEMVER).
 */
function osvRecord(i: number, rand: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const int = (n: number) => Math.floor(rand() * n);
  const cves = Array.from({ length: 1 + int(3) }, (_, k) => `CVE-${2019 + int(7)}-${10000 + i * 3 + k}`);
  const published = new Date(Date.UTC(2019, 0, 1) + int(6 * 365) * 86_400_000).toISOString();
  const base = { schema_version: '1.6.0', published, modified: published, summary: `Synthetic vulnerability ${i}`, details: `Benchmark record ${i}: ${'x'.repeat(200 + int(600))}` };
  const semver = () => `${int(10)}.${int(20)}.${int(30)}`;
  const kind = i % 7;
  if (kind <= 1) {
    const ecosystem = pick(['npm', 'PyPI', 'Maven'] as const);
    const name = ecosystem === 'Maven' ? `org.example${i % 97}:lib-${i}` : `package-${i % 3000}`;
    const affected = Array.from({ length: 1 + int(2) }, () => {
      const fixed = semver();
      return {
        package: { ecosystem, name },
        ranges: [{ type: ecosystem === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events: rand() < 0.1 ? [{ introduced: '0' }] : [{ introduced: '0' }, { fixed }] }],
        ...(rand() < 0.2 ? { versions: [semver(), semver()] } : {}),
        database_specific: { last_known_affected_version_range: `< ${fixed}` },
      };
    });
    return {
      ...base,
      id: `GHSA-${i.toString(36).padStart(4, '0')}-bnch-${(i * 7).toString(36).padStart(4, '0')}`,
      aliases: cves,
      severity: rand() < 0.2 ? [] : [{ type: 'CVSS_V3', score: pick(VECTORS) }],
      affected,
      database_specific: { severity: pick(['LOW', 'MODERATE', 'HIGH', 'CRITICAL']), github_reviewed: true },
    };
  }
  if (kind <= 3) {
    const release = pick(['22.04:LTS', '20.04:LTS', '24.04:LTS', '24.10']);
    const source = `src-${i % 1500}`;
    const fixed = `${rand() < 0.3 ? '1:' : ''}${semver()}-${int(9)}ubuntu${int(5)}.${int(20)}`;
    return {
      ...base,
      id: `USN-${10000 + i}-1`,
      aliases: [],
      upstream: cves.map((c) => `UBUNTU-${c}`),
      affected: [
        {
          package: { ecosystem: `Ubuntu:${release}`, name: source, purl: `pkg:deb/ubuntu/${source}@${fixed}?arch=source` },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
          versions: [],
          ecosystem_specific: { binaries: Array.from({ length: 1 + int(4) }, (_, k) => ({ binary_name: `${source}-bin${k}`, binary_version: fixed })) },
          database_specific: { cves_map: { cves: cves.map((id) => ({ id, severity: [{ type: 'Ubuntu', score: pick(['low', 'medium', 'high']) }] })) } },
        },
      ],
    };
  }
  if (kind <= 5) {
    const debian = kind === 4;
    const name = `${debian ? 'deb' : 'rpm'}-pkg-${i % 2000}`;
    const fixed = debian ? `${semver()}-${1 + int(5)}+deb12u${1 + int(4)}` : `${int(3)}:${semver()}-${int(40)}.el9_${int(5)}`;
    return {
      ...base,
      id: debian ? `DSA-${5000 + i}-1` : `ALSA-2024:${1000 + i}`,
      related: cves,
      affected: [{ package: { ecosystem: debian ? 'Debian:12' : 'AlmaLinux:9', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
    };
  }
  return {
    ...base,
    id: `GO-2024-${1000 + i}`,
    aliases: cves,
    affected: [
      {
        package: { ecosystem: 'Go', name: `example.test/mod${i % 800}` },
        ranges: [
          { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: semver() }] },
          { type: 'GIT', repo: 'https://example.test/repo.git', events: [{ introduced: '0' }, { fixed: randomHex(rand) }] },
        ],
      },
    ],
  };
}

function randomHex(rand: () => number): string {
  return Array.from({ length: 40 }, () => Math.floor(rand() * 16).toString(16)).join('');
}

/** Writes the records one file each, in a folder per source, as OSV exports are laid out. */
function writeOsvRecords(dir: string): void {
  const rand = randomSource(20261123);
  for (let i = 0; i < OSV_RECORDS; i++) {
    const record = osvRecord(i, rand);
    const folder = path.join(dir, String(record.id).split('-')[0]!);
    if (i < 7) mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, `${String(record.id).replace(/:/g, '_')}.json`), JSON.stringify(record, null, 2));
  }
}

/** The MSRC CVRF month, when an `msrc` feed kind is registered and its fixture is in the tree. */
function msrcFile(): string | null {
  if (!listFeedKinds().includes('msrc') || !existsSync(MSRC_DIR)) return null;
  // The folder also holds bad documents for the plugin's tests; the month is the CVRF document.
  const file = readdirSync(MSRC_DIR).find((f) => f.startsWith('cvrfDocument-') && f.endsWith('.xml'));
  return file === undefined ? null : path.join(MSRC_DIR, file);
}

interface Sample {
  dialect: Store['dialect'];
  open(): Promise<{ store: Store; dispose(): Promise<void> }>;
}

function sqliteSample(scratch: string): Sample {
  return {
    dialect: 'sqlite',
    async open() {
      const file = path.join(scratch, `bench-${randomBytes(4).toString('hex')}.db`);
      const store = await openStore(`sqlite:${file}`);
      await migrateToLatest(store);
      return {
        store,
        dispose: async () => {
          await store.close();
          for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
        },
      };
    },
  };
}

function postgresSample(): Sample {
  return {
    dialect: 'postgres',
    async open() {
      const schema = `pd_bench_${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(4).toString('hex')}`;
      const store = await openStore(POSTGRES_URL, { schema });
      await migrateToLatest(store);
      return {
        store,
        dispose: async () => {
          await store.close();
          const client = new pg.Client({ connectionString: POSTGRES_URL });
          await client.connect();
          try {
            await client.query(`drop schema if exists ${schema} cascade`);
          } finally {
            await client.end();
          }
        },
      };
    },
  };
}

async function postgresReachable(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface Source {
  kind: string;
  path: string;
}

function context(store: Store): WorkflowContext {
  return { store, clock: systemClock, logger: createSilentLogger(), config: parseConfig({}) };
}

async function ingestAll(ctx: WorkflowContext, sources: Source[]): Promise<{ ms: number; results: IngestResult[] }> {
  const started = performance.now();
  const results: IngestResult[] = [];
  for (const source of sources) results.push(await ingestFeedFile(ctx, { kind: source.kind, path: source.path, actor: 'bench' }));
  return { ms: performance.now() - started, results };
}

interface Phases {
  advisories: AdvisoryInput[];
  /** Reading the files the way ingestFeedFile does (one awaited stat and readFile after another). */
  readMs: number;
  parseMs: number;
  hashMs: number;
  ms: number;
}

/**
 * What an ingest does before it touches the database, phase by phase: the naive baseline's input,
 * and the explanation of the re-ingest figure.
 */
async function parseAll(sources: Source[]): Promise<Phases> {
  const phases: Phases = { advisories: [], readMs: 0, parseMs: 0, hashMs: 0, ms: 0 };
  for (const source of sources) {
    const plugin = getFeedPlugin(source.kind);
    let started = performance.now();
    const documents = [];
    for (const file of listFilesSync(source.path, plugin.fileExtensions)) {
      await stat(file);
      documents.push({ location: file, body: await readFile(file) });
    }
    phases.readMs += performance.now() - started;
    started = performance.now();
    const { advisories } = await plugin.parse(documents, { feedName: source.kind });
    phases.parseMs += performance.now() - started;
    started = performance.now();
    for (const advisory of advisories) contentHash(advisory);
    phases.hashMs += performance.now() - started;
    phases.advisories.push(...advisories);
  }
  phases.ms = phases.readMs + phases.parseMs + phases.hashMs;
  return phases;
}

function listFilesSync(target: string, extensions: readonly string[]): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(target, entry.name);
    if (entry.isDirectory()) return listFilesSync(full, extensions);
    return extensions.some((ext) => entry.name.toLowerCase().endsWith(ext)) ? [full] : [];
  });
}

/**
 * The naive way: one INSERT per advisory, per CVE link and per package name, each in its own
 * transaction. Stops after NAIVE_BUDGET_MS and scales the time to all records.
 */
async function naiveInsert(store: Store, advisories: AdvisoryInput[]): Promise<{ ms: number; done: number }> {
  const at = new Date().toISOString();
  const started = performance.now();
  let done = 0;
  for (const a of advisories) {
    if (performance.now() - started > NAIVE_BUDGET_MS) break;
    await store.transaction((trx) =>
      trx
        .insertInto('advisories')
        .values(advisoryRow(a, contentHash(a), at))
        .execute(),
    );
    for (const cve of new Set(a.cves)) {
      await store.transaction((trx) => trx.insertInto('advisory_cves').values({ advisory_id: a.id, cve }).execute());
    }
    const names = new Set(a.affected.flatMap((p) => affectedPackageNames(p).map((name) => `${p.ecosystem}\u0000${name}`)));
    for (const key of names) {
      const [ecosystem, name] = key.split('\u0000') as [string, string];
      await store.transaction((trx) => trx.insertInto('advisory_packages').values({ advisory_id: a.id, ecosystem, name }).execute());
    }
    done++;
  }
  return { ms: performance.now() - started, done };
}

const seconds = (ms: number) => Math.round(ms) / 1000;

async function runOn(sample: Sample, sources: Source[], parsed: Phases, log: (line: string) => void): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const workflow = await sample.open();
  try {
    const ctx = context(workflow.store);
    const full = await ingestAll(ctx, sources);
    const stored = full.results.reduce((n, r) => n + r.added + r.updated, 0);
    const reingest = await ingestAll(ctx, sources);
    const changed = reingest.results.reduce((n, r) => n + r.added + r.updated, 0);
    if (changed !== 0) log(`WARNING: the unchanged re-ingest wrote ${changed} records on ${sample.dialect}`);
    const skipped = reingest.results.reduce((n, r) => n + r.skipped, 0);
    const documents = reingest.results.reduce((n, r) => n + r.documents, 0);
    // Unchanged documents are read and their bytes hashed, but not parsed (feed_documents, migration 0012).
    log(
      `${sample.dialect}: re-ingest ${seconds(reingest.ms)} s: ${skipped} of ${documents} documents had unchanged bytes and were not parsed ` +
        `(a full parse and record hash alone costs ≈ ${seconds(parsed.parseMs + parsed.hashMs)} s)`,
    );
    if (skipped !== documents) log(`WARNING: the unchanged re-ingest parsed ${documents - skipped} documents on ${sample.dialect}`);
    log(`${sample.dialect}: ${stored} advisories stored (${full.results.map((r) => `${r.kind} ${r.added}`).join(', ')}), re-ingest unchanged: ${reingest.results.reduce((n, r) => n + r.unchanged, 0)}`);
    figures.push(
      { name: `${sample.dialect}: full ingest`, value: seconds(full.ms), unit: 's', target: `≤ ${FULL_TARGET_MS / 1000} s`, met: full.ms <= FULL_TARGET_MS },
      { name: `${sample.dialect}: unchanged re-ingest`, value: seconds(reingest.ms), unit: 's', target: `≤ ${REINGEST_TARGET_MS / 1000} s`, met: reingest.ms <= REINGEST_TARGET_MS },
    );
  } finally {
    await workflow.dispose();
  }
  const naiveStore = await sample.open();
  try {
    const { advisories } = parsed;
    const naive = await naiveInsert(naiveStore.store, advisories);
    // Reading and parsing are part of the naive way too.
    const scaled = (naive.ms / Math.max(naive.done, 1)) * advisories.length + parsed.ms;
    if (naive.done < advisories.length) log(`${sample.dialect}: naive baseline stopped after ${naive.done} of ${advisories.length} records (${seconds(naive.ms)} s); figure scaled to all`);
    figures.push({ name: `${sample.dialect}: naive row-by-row insert (baseline)`, value: seconds(scaled), unit: 's', target: null, met: null });
  } finally {
    await naiveStore.dispose();
  }
  return figures;
}

export const benchmark: Benchmark = {
  name: 'ingest',
  description: `full CISA KEV + ${OSV_RECORDS.toLocaleString('en')} generated OSV records + one MSRC month through ingestFeedFile, then the same again unchanged, on SQLite and PostgreSQL`,
  async run(log) {
    const scratch = mkdtempSync(path.join(tmpdir(), 'patchdeck-bench-ingest-'));
    try {
      const osvDir = path.join(scratch, 'osv');
      const generated = performance.now();
      writeOsvRecords(osvDir);
      log(`generated ${OSV_RECORDS} OSV records in ${seconds(performance.now() - generated)} s`);
      const sources: Source[] = [
        { kind: 'kev', path: KEV_FILE },
        { kind: 'osv', path: osvDir },
      ];
      const msrc = msrcFile();
      if (msrc === null) log('MSRC month skipped: no msrc feed kind is registered (or its fixture is missing)');
      else sources.push({ kind: 'msrc', path: msrc });
      const parsed = await parseAll(sources);
      log(
        `before any database work, ${parsed.advisories.length} advisories cost ${seconds(parsed.ms)} s: reading files ${seconds(parsed.readMs)} s, ` +
          `parsing and validating ${seconds(parsed.parseMs)} s, content hashes ${seconds(parsed.hashMs)} s (added to the naive figure; the full ingest does the same work)`,
      );

      const figures: BenchFigure[] = [];
      figures.push(...(await runOn(sqliteSample(scratch), sources, parsed, log)));
      const unreachable = await postgresReachable();
      if (unreachable !== null) log(`PostgreSQL skipped: ${POSTGRES_URL} is not reachable (${unreachable})`);
      else figures.push(...(await runOn(postgresSample(), sources, parsed, log)));
      return figures;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
