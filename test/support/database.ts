import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, MIGRATIONS } from '#libs/database';

/** Where the tests' databases live; the machine's PostgreSQL unless TEST_DATABASE_URL says otherwise. */
const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TEMPLATE_LOCK = 0x74706c;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A connection of its own (as the server's superuser, unless the URL says otherwise), closed after the work. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const withAdmin = <T>(work: (client: pg.Client) => Promise<T>) => withClient(databaseUrl('postgres'), work);

/**
 * A fresh, migrated database of its own for one test file. Copies a template
 * migrated once per migration set, so a file pays for a CREATE DATABASE only.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `unefois_t_${label
    .replace(/[^a-z0-9]/gi, '')
    .toLowerCase()
    .slice(0, 20)}_${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
  const migrationsHash = createHash('sha256')
    .update(MIGRATIONS.map((m) => m.name).join(','))
    .digest('hex')
    .slice(0, 16);
  // One template per migration set, so checkouts with different migrations can test side by side.
  const template = `unefois_tpl_${migrationsHash}`;
  await withAdmin(async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const { rows } = await client.query(
        `SELECT shobj_description(oid, 'pg_database') AS state FROM pg_database WHERE datname = $1`,
        [template],
      );
      if (rows[0]?.state !== 'migrated') {
        await client.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${template}`);
        const dataSource = await new DataSource(dataSourceOptions(databaseUrl(template))).initialize();
        await dataSource.runMigrations({ transaction: 'each' });
        await dataSource.destroy();
        await client.query(`COMMENT ON DATABASE ${template} IS 'migrated'`);
      }
      await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      withAdmin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
