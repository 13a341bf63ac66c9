// Drops the databases earlier test runs left behind (a run killed midway cannot clean up after itself).
// Test database names end in _<unix seconds>_<random> (test/support/database.ts); only those older than
// a few hours go, so two runs side by side on one server leave each other alone.
const STALE_AFTER_SECONDS = 3 * 3600;
import pg from 'pg';

export default async function globalSetup() {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'unefois\\_t\\_%'`,
    );
    const now = Math.floor(Date.now() / 1000);
    for (const { datname } of rows) {
      const created = Number(/_(\d{10})_[0-9a-f]+$/.exec(datname)?.[1] ?? 0);
      if (now - created > STALE_AFTER_SECONDS)
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

function adminUrl() {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}
