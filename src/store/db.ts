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

/** The URL with its password removed (also a `password` query parameter), for messages and logs. */
export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `${url.slice(0, url.indexOf('://') + 3)}…`; // unparseable: show no part that may hold a password
    }
    parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  }
  return url;
}

const NETWORK_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now',
};

/** SQLSTATE classes that mean the server answered but would not let us in. */
const LOGIN_FAILURES: Record<string, string> = {
  '28P01': 'the password was refused',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'the server has too many connections',
};

/** Turns a failed first connection into an error that names the server (never the password) and what to check. */
export function databaseConnectError(url: string, error: unknown): PatchdeckError {
  const where = describeDatabaseUrl(url);
  const code = (error as { code?: unknown }).code;
  const detail = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && code in LOGIN_FAILURES) {
    return new PatchdeckError(
      'PD_DB_LOGIN',
      `PostgreSQL at ${where} refused the connection: ${LOGIN_FAILURES[code]} (${detail}). Check the user, password and database name in DATABASE_URL (or config databaseUrl).`,
      { cause: error, status: 503 },
    );
  }
  const why = typeof code === 'string' && code in NETWORK_FAILURES ? `${NETWORK_FAILURES[code]} (${code})` : detail;
  return new PatchdeckError(
    'PD_DB_UNREACHABLE',
    `cannot connect to PostgreSQL at ${where}: ${why}. Check that the server is running and reachable from here, and that DATABASE_URL (or config databaseUrl) names it.`,
    { cause: error, status: 503 },
  );
}

/** Turns a SQLite file that cannot be opened into an error naming the file and what to check. */
function sqliteOpenError(file: string, error: unknown): PatchdeckError {
  const code = (error as { code?: unknown }).code;
  const why =
    code === 'SQLITE_NOTADB'
      ? 'the file is not a SQLite database'
      : code === 'SQLITE_CANTOPEN'
        ? 'the file cannot be opened (a directory, or no permission to read and write it)'
        : code === 'SQLITE_READONLY' || code === 'EACCES' || code === 'EROFS'
          ? 'no permission to write it or its directory'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a part of its directory path is a file'
            : error instanceof Error
              ? error.message
              : String(error);
  return new PatchdeckError(
    'PD_DB_FILE',
    `cannot open the SQLite database sqlite:${file}: ${why}. Check the path in DATABASE_URL (or config databaseUrl) and that this user may read and write the file and its directory.`,
    { cause: error, status: 503 },
  );
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
  let native: SqliteDatabase.Database;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    native = new SqliteDatabase(file);
  } catch (error) {
    throw sqliteOpenError(file, error);
  }
  try {
    // The first statement reads the file: a file that is not a database fails here.
    native.pragma('journal_mode = WAL');
    // FULL: an approval or audit entry acknowledged to a user must survive a power loss.
    native.pragma('synchronous = FULL');
    native.pragma('foreign_keys = ON');
    native.pragma('busy_timeout = 5000');
  } catch (error) {
    native.close();
    throw sqliteOpenError(file, error);
  }
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
  // A server that drops packets must fail start-up in seconds, not hang it.
  const poolConfig: pg.PoolConfig = { connectionString: url, max: 10, connectionTimeoutMillis: 10_000 };
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
  // The pool connects lazily: connect now, so an unreachable server is reported as such, once.
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    throw databaseConnectError(url, error);
  }
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
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's table listing resolves every schema's names; another schema dropped meanwhile (another
  // instance's or a test's) fails it with "schema … does not exist". Nothing was applied: try again.
  for (let attempt = 1; error && attempt <= MIGRATION_RETRIES && droppedOtherSchema(error, migrationTableSchema); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    throw new PatchdeckError('PD_DB_MIGRATION', `database migration failed: ${String((error as Error).message ?? error)}`, {
      cause: error,
      status: 500,
    });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}

const MIGRATION_RETRIES = 5;

/** A failure about a schema other than ours vanishing while Kysely listed the tables. */
export function droppedOtherSchema(error: unknown, ours: string | undefined): boolean {
  const match = /schema "([^"]+)" does not exist/.exec(String((error as Error)?.message ?? error));
  return match !== null && match[1] !== ours;
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
