/**
 * npm run bench:register — the creation half of bench:reminders on
 * its own, quick to repeat: BENCH_DEADLINES deadlines (5000) registered through
 * POST /v1/deadlines by BENCH_CONNECTIONS connections (50), for BENCH_CITIZENS
 * citizens (1000) known to the service's organisation. Prints the rate; writes
 * nothing else. DATABASE_POOL_SIZE is passed through to the broker when set.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/unefois_bench_register,
 * dropped and recreated).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import pg from 'pg';
import { PairwiseIds } from '#libs/identity';
import { domainContext } from '../apps/cli/src/domain-context.js';
import {
  accessToken,
  BROKER_SECRETS,
  freePort,
  log,
  recreateDatabase,
  SECRETS,
  startProcess,
} from './support.js';

const env = process.env;
const DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unefois_bench_register';
const DEADLINES = Number(env.BENCH_DEADLINES ?? 5_000);
const CITIZENS = Number(env.BENCH_CITIZENS ?? 1_000);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const SERVICE = 'rq-credits';
const ORGANISATION = 'RQ';
const KIND = 'tax-filing';

/** Citizens known to the organisation: their pairwise ids, as the broker issues them, recorded. */
async function seedCitizens(db: pg.Client): Promise<string[]> {
  const ids = Array.from({ length: CITIZENS }, () => randomUUID());
  const app = await domainContext({ ...env, ...SECRETS, DATABASE_URL });
  const ppids = ids.map((id) => app.get(PairwiseIds).of(ORGANISATION, id));
  await app.close();
  await db.query(
    `INSERT INTO citizen (id, issuer, subject) SELECT id, 'bench', id::text FROM unnest($1::uuid[]) AS u (id)`,
    [ids],
  );
  await db.query(
    `INSERT INTO pairwise_id (citizen_id, organisation_id, ppid)
     SELECT id, $2, ppid FROM unnest($1::uuid[], $3::text[]) AS u (id, ppid)`,
    [ids, ORGANISATION, ppids],
  );
  return ppids;
}

async function main(): Promise<void> {
  await recreateDatabase(DATABASE_URL);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const ppids = await seedCitizens(db);
  await db.query('VACUUM ANALYZE');
  const brokerPort = await freePort();
  const broker = await startProcess('dist/apps/broker/src/main.js', `http://127.0.0.1:${brokerPort}/health`, {
    DATABASE_URL,
    BROKER_PORT: String(brokerPort),
    BROKER_URL: `http://127.0.0.1:${brokerPort}`,
    ...BROKER_SECRETS,
    ...(env.DATABASE_POOL_SIZE ? { DATABASE_POOL_SIZE: env.DATABASE_POOL_SIZE } : {}),
  });
  try {
    const token = await accessToken(brokerPort, SERVICE);
    const dueAt = new Date(Date.now() + 40 * 86_400_000).toISOString();
    let i = 0;
    const started = Date.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${brokerPort}/v1/deadlines`,
      connections: CONNECTIONS,
      amount: DEADLINES,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          setupRequest: (request) => {
            const n = i++;
            return {
              ...request,
              body: JSON.stringify({
                citizen: { ppid: ppids[n % ppids.length] },
                kind: KIND,
                dueAt,
                title: { fr: 'Produire votre déclaration de revenus', en: 'File your income tax return' },
                externalRef: `bench-${n}`,
              }),
            };
          },
        },
      ],
    });
    const seconds = (Date.now() - started) / 1000;
    const counts = (
      await db.query(
        `SELECT (SELECT count(*) FROM deadline)::int AS deadlines, (SELECT count(*) FROM reminder)::int AS reminders`,
      )
    ).rows[0] as { deadlines: number; reminders: number };
    log(
      `${DEADLINES} POST /v1/deadlines, ${CONNECTIONS} connections, pool ${env.DATABASE_POOL_SIZE ?? 'default'}: ` +
        `${(DEADLINES / seconds).toFixed(0)} deadlines/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
        `non-2xx ${result.non2xx}, errors ${result.errors + result.timeouts}; ` +
        `${counts.deadlines} deadlines, ${counts.reminders} reminders in the database`,
    );
  } finally {
    broker.kill('SIGTERM');
    await db.end();
  }
}

await main();
