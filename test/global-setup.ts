import pg from 'pg';

const POSTGRES_URL = process.env.PATCHDECK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const STALE_AFTER_SECONDS = 2 * 3600;

/**
 * Removes PostgreSQL test schemas that aborted runs left behind (older than two hours, judged by the
 * creation time in their name). Runs once before the suite; silent when PostgreSQL is not there.
 */
export async function setup(): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch {
    return;
  }
  try {
    const { rows } = await client.query<{ nspname: string }>("select nspname from pg_namespace where nspname like 'pd\\_test\\_%'");
    const now = Math.floor(Date.now() / 1000);
    for (const { nspname } of rows) {
      const match = /^pd_test_([0-9a-z]+)_[0-9a-f]+$/.exec(nspname);
      if (!match) continue;
      if (now - parseInt(match[1]!, 36) > STALE_AFTER_SECONDS) await client.query(`drop schema if exists "${nspname}" cascade`);
    }
  } finally {
    await client.end();
  }
}
