import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../src/store/db.js';

export const POSTGRES_URL = process.env.PATCHDECK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let postgresProbe: Promise<string | null> | undefined;

/** Resolves to null when PostgreSQL answers, or to the reason it does not. */
export function postgresUnavailableReason(): Promise<string | null> {
  postgresProbe ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (error) {
      return `PostgreSQL at ${POSTGRES_URL} is not reachable (${(error as Error).message})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresProbe;
}

const pgReason = await postgresUnavailableReason();
if (pgReason !== null) {
  if (process.env.CI) throw new Error(`${pgReason}; CI must run the PostgreSQL half of the suite`);
  console.warn(`[patchdeck tests] skipping PostgreSQL variants: ${pgReason}`);
}

export interface StoreContext {
  store: Store;
  dialect: Store['dialect'];
  /** DATABASE_URL of the same database, for code that opens its own connection (the CLI). */
  url: string;
}

/** A fresh, migrated store: a new SQLite file, or a new PostgreSQL schema dropped afterwards. */
export interface TestStore {
  store: Store;
  /** A DATABASE_URL that opens the same database (and, on PostgreSQL, the same schema). */
  url: string;
  dispose: () => Promise<void>;
}

export async function createTestStore(dialect: Store['dialect']): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'patchdeck-test-'));
    const url = `sqlite:${path.join(dir, 'test.db')}`;
    const store = await openStore(url);
    await migrateToLatest(store);
    return {
      store,
      url,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  // The creation time in the name lets the global setup remove schemas an aborted run left behind.
  const schema = `pd_test_${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(4).toString('hex')}`;
  const store = await openStore(POSTGRES_URL, { schema });
  // Test files run in parallel processes: creating one schema while another is dropped races in
  // PostgreSQL's catalog, so schema creation and removal take turns under one advisory lock.
  await withSchemaLock(async () => {
    await migrateToLatest(store);
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  return {
    store,
    url: `${POSTGRES_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    dispose: async () => {
      await store.close();
      await withSchemaLock(async (client) => {
        await client.query(`drop schema if exists ${schema} cascade`);
      });
    },
  };
}

const SCHEMA_LOCK_KEY = 7_420_001;

async function withSchemaLock<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    return await work(client);
  } finally {
    await client.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]).catch(() => undefined);
    await client.end();
  }
}

/**
 * Declares the same tests once per database. The PostgreSQL half is skipped, with the reason printed
 * above, only when PostgreSQL is unreachable outside CI.
 */
export function describeEachStore(name: string, body: (ctx: StoreContext) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' && pgReason !== null;
    // The reason is printed once at load time (see above).
    const suite = skip ? describe.skip : describe;
    suite(`${name} [${dialect}]`, () => {
      const ctx = { dialect } as StoreContext;
      let dispose: (() => Promise<void>) | undefined;
      beforeEach(async () => {
        const created = await createTestStore(dialect);
        ctx.store = created.store;
        ctx.url = created.url;
        dispose = created.dispose;
      });
      afterEach(async () => {
        await dispose?.();
      });
      body(ctx);
    });
  }
}
