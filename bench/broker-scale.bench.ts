/**
 * npm run bench:broker-scale — the broker's POST /v1/data-requests and the
 * vault's GET /v1/me at two sizes, side by side in one run: a database of
 * 10,000 citizens and one of 1,000,000 citizens with an access log of
 * 10,000,000 entries, both seeded in bulk (bench/bulk-seed.ts). One broker and
 * one vault serve each; the rounds alternate between sizes, so a slow spell of
 * the machine weighs on both alike. Writes its section of docs/benchmarks.md.
 *
 * Environment: BENCH_SMALL_CITIZENS (10000), BENCH_LARGE_CITIZENS (1000000),
 * BENCH_LOG_ENTRIES_PER_CITIZEN (10), BENCH_CONNECTIONS (50), BENCH_SECONDS (15),
 * BENCH_ROUNDS (3). Both databases are on a PostgreSQL server of the
 * benchmark's own, configured as a database host (bench/database-host.ts);
 * BENCH_DATABASE_URL names the small database on another server instead (the
 * large one's name ends in _large), measured with its settings as they are.
 * BENCH_REUSE=1 keeps databases a previous run seeded.
 */
import 'reflect-metadata';
import { type ChildProcess, execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { startDatabaseHost } from './database-host.js';
import { ATTRIBUTES, HELD, SERVICE, type SeededPlatform, seedPlatform } from './seed-platform.js';
import {
  accessToken,
  applyBenchRegistry,
  BROKER_SECRETS,
  freePort,
  load,
  log,
  machineLine,
  type Measure,
  median,
  SECRETS,
  startCitizenIssuer,
  startProcess,
  writeSection,
} from './support.js';

const env = process.env;
const host = env.BENCH_DATABASE_URL ? null : await startDatabaseHost();
const SMALL_URL = env.BENCH_DATABASE_URL ?? `${host!.url}/unefois_bench`;
const LARGE_URL = `${SMALL_URL}_large`;
const SIZES = {
  small: Number(env.BENCH_SMALL_CITIZENS ?? 10_000),
  large: Number(env.BENCH_LARGE_CITIZENS ?? 1_000_000),
};
const LOG_ENTRIES = Number(env.BENCH_LOG_ENTRIES_PER_CITIZEN ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(env.BENCH_SECONDS ?? 15);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
/**
 * The brokers' warm-up, in seconds. The first change to a page after a
 * checkpoint writes the whole page to the WAL; appends land on random pages
 * of the log's primary key (one per citizen's chain), so right after a
 * checkpoint nearly every append pays for one, and a quarter of an hour
 * later (checkpoint_timeout) almost none does. A minute of appends first
 * measures a server between the two rather than one just checkpointed.
 */
const WARMUP = Number(env.BENCH_WARMUP_SECONDS ?? 60);
/** Citizens each vault run reads, each with a token of their own. */
const READERS = 2000;

type Size = keyof typeof SIZES;

const KEPT = '/tmp/une-fois-bench-scale.json';

/**
 * Both databases, seeded under this run's secrets; with BENCH_REUSE=1, those a
 * previous run of the same sizes seeded, under its secrets (kept in /tmp).
 */
async function seedBoth(): Promise<Record<Size, SeededPlatform>> {
  if (env.BENCH_REUSE === '1') {
    try {
      const kept = JSON.parse(readFileSync(KEPT, 'utf8'));
      if (JSON.stringify(kept.sizes) === JSON.stringify(SIZES) && kept.logEntries === LOG_ENTRIES) {
        Object.assign(SECRETS, kept.secrets);
        log('• reusing the databases a previous run seeded');
        // The services' keys are made for each run.
        applyBenchRegistry(SMALL_URL);
        applyBenchRegistry(LARGE_URL);
        return kept.platforms;
      }
    } catch {
      // nothing kept: seed
    }
  }
  const platforms = {} as Record<Size, SeededPlatform>;
  for (const size of ['small', 'large'] as Size[]) {
    log(
      `• seeding the ${size} database: ${SIZES[size].toLocaleString('en')} citizens, ${LOG_ENTRIES} entries each…`,
    );
    const url = size === 'small' ? SMALL_URL : LARGE_URL;
    platforms[size] = await seedPlatform(url, SIZES[size], LOG_ENTRIES);
    log(`  seeded in ${platforms[size].seconds.toFixed(0)} s`);
    // What autovacuum does to rows written in bulk, long before a running server would be measured.
    const started = Date.now();
    await query(url, 'VACUUM (ANALYZE)');
    log(`  VACUUM (ANALYZE) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  writeFileSync(KEPT, JSON.stringify({ sizes: SIZES, logEntries: LOG_ENTRIES, secrets: SECRETS, platforms }));
  return platforms;
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return await db.query(sql);
  } finally {
    await db.end();
  }
}

/**
 * Reads into the server's buffers every index and the tables the measured
 * requests read (the citizens' keys, pairwise ids, values and consents), as a
 * server that has been serving them holds them (PostgreSQL's autoprewarm
 * does the same after a restart). The access log's own rows are not read:
 * only the last of each chain is, and the requests bring those in.
 */
async function prewarm(url: string): Promise<number> {
  await query(url, 'CREATE EXTENSION IF NOT EXISTS pg_prewarm');
  const { rows } = await query(
    url,
    `SELECT coalesce(sum(pg_prewarm(c.oid)), 0) AS pages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND (c.relkind = 'i' OR c.relname IN
            ('citizen', 'citizen_key', 'pairwise_id', 'attribute_value', 'consent'))`,
  );
  return Number(rows[0].pages);
}

/** The server settings that decide how a database larger than memory's share behaves, as the server reports them. */
async function settingsOf(url: string): Promise<string> {
  const { rows } = await query(
    url,
    `SELECT name, current_setting(name) AS setting FROM pg_settings
      WHERE name IN ('shared_buffers', 'effective_cache_size', 'max_wal_size', 'checkpoint_timeout',
                     'wal_compression', 'autovacuum', 'huge_pages') ORDER BY name`,
  );
  return (rows as { name: string; setting: string }[])
    .map(({ name, setting }) => `\`${name}\` ${setting}`)
    .join(', ');
}

async function main(): Promise<void> {
  const platforms = await seedBoth();
  const urls = { small: SMALL_URL, large: LARGE_URL };
  const issuer = await startCitizenIssuer();
  const started: ChildProcess[] = [];
  const apps = {} as Record<Size, { broker: number; vault: number; brokerPort: number; vaultPort: number }>;
  const sizesOf = async (url: string) => {
    await query(url, 'ANALYZE');
    const { rows } = await query(
      url,
      `SELECT pg_size_pretty(pg_database_size(current_database())) AS size,
              (SELECT count(*) FROM access_log_entry) AS entries`,
    );
    return rows[0] as { size: string; entries: string };
  };
  const stored = { small: await sizesOf(SMALL_URL), large: await sizesOf(LARGE_URL) };
  const server = await settingsOf(LARGE_URL);
  const runs: Record<string, Measure[]> = {};
  try {
    for (const size of ['small', 'large'] as Size[]) {
      const brokerPort = await freePort();
      const vaultPort = await freePort();
      const broker = await startProcess(
        'dist/apps/broker/src/main.js',
        `http://127.0.0.1:${brokerPort}/health`,
        {
          DATABASE_URL: urls[size],
          BROKER_PORT: String(brokerPort),
          BROKER_URL: `http://127.0.0.1:${brokerPort}`,
          ...BROKER_SECRETS,
        },
      );
      started.push(broker);
      const vault = await startProcess(
        'dist/apps/vault/src/main.js',
        `http://127.0.0.1:${vaultPort}/health`,
        {
          DATABASE_URL: urls[size],
          VAULT_PORT: String(vaultPort),
          VAULT_URL: `http://127.0.0.1:${vaultPort}`,
          ...issuer.env,
        },
      );
      started.push(vault);
      apps[size] = { broker: broker.pid!, vault: vault.pid!, brokerPort, vaultPort };
    }
    const random = (n: number) => Math.floor(Math.random() * n);
    const runners = {} as Record<
      Size,
      { broker: (s: number) => Promise<Measure>; vault: (s: number) => Promise<Measure> }
    >;
    for (const size of ['small', 'large'] as Size[]) {
      const { ppids } = platforms[size];
      const readers = Array.from({ length: Math.min(READERS, SIZES[size]) }, () => random(SIZES[size]));
      const tokens = await Promise.all(readers.map((i) => issuer.token(`citizen-${i}`)));
      runners[size] = {
        // Access tokens live five minutes: each run gets a fresh one.
        broker: async (seconds) =>
          load({
            pid: apps[size].broker,
            url: `http://127.0.0.1:${apps[size].brokerPort}/v1/data-requests`,
            headers: { authorization: `Bearer ${await accessToken(apps[size].brokerPort, SERVICE)}` },
            body: () =>
              JSON.stringify({
                citizen: { ppid: ppids[random(ppids.length)] },
                purpose: 'licence-renewal',
                attributes: ATTRIBUTES,
              }),
            seconds,
            connections: CONNECTIONS,
          }),
        vault: (seconds) =>
          load({
            pid: apps[size].vault,
            url: `http://127.0.0.1:${apps[size].vaultPort}/v1/me`,
            method: 'GET',
            headersFor: (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` }),
            seconds,
            connections: CONNECTIONS,
          }),
      };
      const check = await fetch(`http://127.0.0.1:${apps[size].vaultPort}/v1/me`, {
        headers: { authorization: `Bearer ${tokens[0]}` },
      });
      const shown = check.ok ? ((await check.json()) as { attributes: unknown[] }).attributes.length : 0;
      if (shown !== HELD.length)
        throw new Error(`${size}: GET /v1/me showed ${shown} values, not ${HELD.length}`);
    }
    for (const size of ['small', 'large'] as Size[]) {
      const started = Date.now();
      const pages = await prewarm(urls[size]);
      log(
        `• ${size}: ${pages.toLocaleString('en')} pages read into the server's buffers in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
    }
    log(`• warming up every app (the brokers ${WARMUP} s, the vaults 5 s) after a checkpoint`);
    await query(LARGE_URL, 'CHECKPOINT');
    for (const size of ['small', 'large'] as Size[]) {
      await runners[size].broker(WARMUP);
      await runners[size].vault(5);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      log(
        `• round ${round}/${ROUNDS}: broker and vault at each size, ${CONNECTIONS} connections, ${SECONDS} s each`,
      );
      for (const app of ['broker', 'vault'] as const)
        for (const size of ['small', 'large'] as Size[])
          (runs[`${app} ${size}`] ??= []).push(await runners[size][app](SECONDS));
    }
  } finally {
    for (const child of started) child.kill('SIGTERM');
    await issuer.close();
  }
  // Every chain of the large database, the seeded ones and the run's appends, still verifies.
  const audit = execSync('node dist/apps/cli/src/main.js audit:verify', {
    env: { ...env, ...SECRETS, DATABASE_URL: LARGE_URL },
    maxBuffer: 16 * 1024 * 1024,
  })
    .toString()
    .trim();
  log(`• large database: ${audit}`);

  const rows: [string, Measure][] = [];
  for (const [name, measures] of Object.entries(runs))
    measures.forEach((m, i) => rows.push([`${name} — round ${i + 1}`, m]));
  const ratio = (app: 'broker' | 'vault') =>
    median(runs[`${app} large`]).requestsPerSecond / median(runs[`${app} small`]).requestsPerSecond;
  const line = (app: 'broker' | 'vault') => {
    const small = median(runs[`${app} small`]);
    const large = median(runs[`${app} large`]);
    return `${app}: ${small.requestsPerSecond.toFixed(0)} req/s (p99 ${small.p99} ms) at ${SIZES.small.toLocaleString('en')} citizens, ${large.requestsPerSecond.toFixed(0)} req/s (p99 ${large.p99} ms) at ${SIZES.large.toLocaleString('en')}: ${(ratio(app) * 100).toFixed(1)} % (target ≥ 80 %: ${ratio(app) >= 0.8 ? 'met' : 'not met'})`;
  };
  log('');
  for (const [name, m] of rows)
    log(
      `${name.padEnd(24)} ${m.requestsPerSecond.toFixed(0).padStart(6)} req/s   p50 ${m.p50} ms   p99 ${m.p99} ms   CPU/request: app ${m.appCpu.toFixed(2)} ms, machine ${m.machineCpu.toFixed(2)} ms   errors ${m.errors}   non-2xx ${m.non2xx}`,
    );
  log(line('broker'));
  log(line('vault'));

  writeSection(
    'broker-scale',
    `## Broker and vault at a province's scale

${machineLine(LARGE_URL)}

| run | req/s | p50 | p99 | CPU/request: app | machine | errors | non-2xx |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map(([name, m]) => `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50} ms | ${m.p99} ms | ${m.appCpu.toFixed(2)} ms | ${m.machineCpu.toFixed(2)} ms | ${m.errors} | ${m.non2xx} |`).join('\n')}

- ${line('broker')}.
- ${line('vault')}.

How it was run (\`npm run bench:broker-scale\`): ${
      host
        ? `a PostgreSQL server of the benchmark's own (\`bench/database-host.ts\`), configured as a database host of this machine: ${server}`
        : `the server of \`BENCH_DATABASE_URL\`, as configured: ${server}`
    }. Two databases seeded in bulk (\`bench/bulk-seed.ts\`), then vacuumed and analysed, each citizen
with a value of all ${HELD.length} catalogue attributes, an ongoing consent for \`${SERVICE}\` and ${LOG_ENTRIES} access-log
entries — **small**: ${SIZES.small.toLocaleString('en')} citizens, ${Number(stored.small.entries).toLocaleString('en')} entries, ${stored.small.size};
**large**: ${SIZES.large.toLocaleString('en')} citizens, ${Number(stored.large.entries).toLocaleString('en')} entries, ${stored.large.size} (sizes after the run).
One broker and one vault per database, from the build, in production mode. Before the rounds, every index and
the tables the requests read were loaded into the server's buffers (\`pg_prewarm\`, as a server that has been
serving them holds them), then a checkpoint, then each broker warmed up for ${WARMUP} s and each vault for 5 s
(after a checkpoint, each append's first change to a page of the log's index writes the page whole to the WAL:
docs/scaling.md). ${ROUNDS} rounds of ${SECONDS} s alternating between
the sizes, ${CONNECTIONS} connections, each request for a random citizen (the vault's for a random one of
${READERS.toLocaleString('en')} citizens, each with a token of their own). \`audit:verify\` on the large database after the runs: ${audit}
`,
  );
  log('docs/benchmarks.md written.');
}

try {
  await main();
} finally {
  host?.stop();
}
