import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdirSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import { PatchdeckError } from '../core/errors.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** Anything queries can run on: the database itself or an open transaction. */
export type Executor = Kysely<Database>;

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** Human-readable location, with credentials removed. */
  readonly location: string;
  /** PostgreSQL only: the schema everything runs in, when one was given. */
  readonly schema?: string;
  /**
   * Runs `work` in one transaction. On SQLite it is `BEGIN IMMEDIATE`, so a read-then-write never
   * fails half-way with SQLITE_BUSY when another process writes too.
   */
  transaction<T>(work: (trx: Executor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL only: run everything in this schema (tests use a fresh one per run). */
  schema?: string;
}

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  }
  return url;
}

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return openPostgres(url, options);
  }
  if (url.startsWith('sqlite:')) {
    return openSqlite(url.slice('sqlite:'.length));
  }
  throw new PatchdeckError(
    'PD_CONFIG_DATABASE_URL',
    `DATABASE_URL must start with sqlite: or postgres:// (got "${url.slice(0, 40)}")`,
  );
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const native = new SqliteDatabase(file);
  native.pragma('journal_mode = WAL');
  // FULL: an approval or audit entry acknowledged to a user must survive a power loss.
  native.pragma('synchronous = FULL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: native }) });
  return {
    db,
    dialect: 'sqlite',
    location: `sqlite:${file}`,
    async transaction<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
      return db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          await sql`rollback`.execute(conn);
          throw error;
        }
      });
    },
    async close() {
      await db.destroy();
    },
  };
}

async function openPostgres(url: string, options: OpenStoreOptions): Promise<Store> {
  const poolConfig: pg.PoolConfig = { connectionString: url, max: 10 };
  if (options.schema !== undefined) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.schema)) {
      throw new PatchdeckError('PD_DB_SCHEMA', `PostgreSQL schema name "${options.schema}" is not a plain identifier`);
    }
    poolConfig.options = `-c search_path=${options.schema}`;
  }
  const pool = new pg.Pool(poolConfig);
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (options.schema !== undefined) {
    await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db);
  }
  return {
    db,
    dialect: 'postgres',
    location: describeDatabaseUrl(url) + (options.schema ? ` (schema ${options.schema})` : ''),
    schema: options.schema,
    async transaction<T>(work: (trx: Executor) => Promise<T>): Promise<T> {
      return db.transaction().execute((trx) => work(trx));
    },
    async close() {
      await db.destroy();
    },
  };
}

class DirectoryMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.ts$/.test(f)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const mod = (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as Migration;
      migrations[file.replace(/\.ts$/, '')] = mod;
    }
    return migrations;
  }
}

export interface MigrationReport {
  applied: string[];
}

export async function migrateToLatest(store: Store): Promise<MigrationReport> {
  let migrationTableSchema = store.schema;
  if (store.dialect === 'postgres' && migrationTableSchema === undefined) {
    const row = await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db);
    migrationTableSchema = row.rows[0]?.schema;
  }
  const provider = new DirectoryMigrationProvider();
  // Every command opens the store and migrates: when nothing is pending, answer from the migration
  // table alone. Kysely's Migrator lists every table of every schema first, which is slow on a shared
  // server and races with other schemas being dropped.
  const wanted = Object.keys(await provider.getMigrations());
  const done = await listAppliedMigrations(store, migrationTableSchema);
  if (done !== null && wanted.every((name) => done.has(name))) return { applied: [] };

  // Without `migrationTableSchema` Kysely would accept its tables from any schema of the database.
  // Unordered: a migration merged later with a lower number (parallel branches) still runs.
  const migrator = new Migrator({ db: store.db, provider, allowUnorderedMigrations: true, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw new PatchdeckError('PD_DB_MIGRATION', `database migration failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
      status: 500,
    });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

async function listAppliedMigrations(store: Store, schema: string | undefined): Promise<Set<string> | null> {
  const table = schema ? sql.id(schema, 'kysely_migration') : sql.id('kysely_migration');
  try {
    const result = await sql<{ name: string }>`select name from ${table}`.execute(store.db);
    return new Set(result.rows.map((r) => r.name));
  } catch {
    return null; // no migration table yet
  }
}

export async function checkDatabase(store: Store): Promise<void> {
  await sql`select 1`.execute(store.db);
}
