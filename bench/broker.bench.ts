/**
 * npm run bench:broker — POST /v1/data-requests under load, full path, against
 * the floor (the same two round trips to PostgreSQL from a bare node:http
 * server: in a transaction, and as one statement) and the Nest baseline (the
 * same two behind the apps' HTTP stack). Writes docs/benchmarks.md.
 *
 * Also GET /v1/me (the vault) against a bare read of the same rows.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/unefois_bench, dropped and
 * recreated), BENCH_CITIZENS (10000), BENCH_LOG_ENTRIES_PER_CITIZEN (10: the access log seeded),
 * BENCH_CONNECTIONS (50), BENCH_SECONDS (15 per measured run), BENCH_ROUNDS (3 alternating rounds of
 * broker, floors, baseline and vault; medians are reported).
 */
import 'reflect-metadata';
import { execSync } from 'node:child_process';
import { cpus } from 'node:os';
import pg from 'pg';
import { ATTRIBUTES, HELD, SECOND_SERVICE, SERVICE, seedPlatform } from './seed-platform.js';
import {
  accessToken,
  BROKER_SECRETS,
  freePort,
  load,
  startCitizenIssuer,
  log,
  machineLine,
  type Measure,
  median,
  SECRETS,
  startProcess,
  writeSection,
} from './support.js';

const env = process.env;
const DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unefois_bench';
const CITIZENS = Number(env.BENCH_CITIZENS ?? 10_000);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(env.BENCH_SECONDS ?? 15);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
const LIGHT_CONNECTIONS = 8;
const LOG_ENTRIES = Number(env.BENCH_LOG_ENTRIES_PER_CITIZEN ?? 10);

async function main(): Promise<void> {
  log('• preparing a database and seeding citizens in bulk…');
  const { ppids, citizenIds, secondPpid, seconds } = await seedPlatform(DATABASE_URL, CITIZENS, LOG_ENTRIES);
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await db.query(
    `CREATE TABLE bench_baseline_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, citizen_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
  );
  await db.query('VACUUM ANALYZE');
  log(
    `  ${CITIZENS} citizens and ${(CITIZENS * LOG_ENTRIES).toLocaleString('en')} access-log entries seeded in ${seconds.toFixed(0)} s`,
  );

  const random = (list: string[]) => list[Math.floor(Math.random() * list.length)];
  const brokerPort = await freePort();
  const baselinePort = await freePort();
  const floorPort = await freePort();
  const appEnv = (port: number) => ({
    DATABASE_URL,
    BROKER_PORT: String(port),
    BROKER_URL: `http://127.0.0.1:${port}`,
  });
  const broker = await startProcess('dist/apps/broker/src/main.js', `http://127.0.0.1:${brokerPort}/health`, {
    ...appEnv(brokerPort),
    ...BROKER_SECRETS,
  });
  const baselineApp = await startProcess(
    'dist/bench/baseline-app.js',
    `http://127.0.0.1:${baselinePort}/health`,
    appEnv(baselinePort),
  );
  const floorApp = await startProcess('dist/bench/floor-server.js', `http://127.0.0.1:${floorPort}/health`, {
    ...appEnv(floorPort),
  });
  const issuer = await startCitizenIssuer();
  const vaultPort = await freePort();
  const vault = await startProcess('dist/apps/vault/src/main.js', `http://127.0.0.1:${vaultPort}/health`, {
    DATABASE_URL,
    VAULT_PORT: String(vaultPort),
    VAULT_URL: `http://127.0.0.1:${vaultPort}`,
    ...issuer.env,
  });
  // GET /v1/me is asked for citizens of a sample, each with a token of their own.
  const readers = (
    await db.query(`SELECT id, subject FROM citizen ORDER BY random() LIMIT $1`, [Math.min(CITIZENS, 2000)])
  ).rows as { id: string; subject: string }[];
  const readerTokens = await Promise.all(readers.map((r) => issuer.token(r.subject)));
  const full: Measure[] = [];
  const me: Measure[] = [];
  const floorMe: Measure[] = [];
  const baseline: Measure[] = [];
  const floorTx: Measure[] = [];
  const floorOne: Measure[] = [];
  let light: Measure | undefined;
  let sameCitizen: Measure | undefined;
  try {
    // Access tokens live five minutes, less than the whole run: each run gets fresh ones.
    const token = await accessToken(brokerPort, SERVICE);
    const runBroker = async (seconds: number, connections = CONNECTIONS) =>
      load({
        pid: broker.pid!,
        url: `http://127.0.0.1:${brokerPort}/v1/data-requests`,
        headers: { authorization: `Bearer ${await accessToken(brokerPort, SERVICE)}` },
        body: () =>
          JSON.stringify({
            citizen: { ppid: random(ppids) },
            purpose: 'licence-renewal',
            attributes: ATTRIBUTES,
          }),
        seconds,
        connections,
      });
    const runBaseline = (seconds: number) =>
      load({
        pid: baselineApp.pid!,
        url: `http://127.0.0.1:${baselinePort}/baseline`,
        body: () => JSON.stringify({ citizenId: random(citizenIds) }),
        seconds,
        connections: CONNECTIONS,
      });
    const runFloor = (path: 'tx' | 'one', seconds: number) =>
      load({
        pid: floorApp.pid!,
        url: `http://127.0.0.1:${floorPort}/${path}`,
        body: () => JSON.stringify({ citizenId: random(citizenIds) }),
        seconds,
        connections: CONNECTIONS,
      });

    const runVault = (seconds: number) =>
      load({
        pid: vault.pid!,
        url: `http://127.0.0.1:${vaultPort}/v1/me`,
        method: 'GET',
        headersFor: (i) => ({ authorization: `Bearer ${readerTokens[i % readers.length]}` }),
        seconds,
        connections: CONNECTIONS,
      });
    const runFloorMe = (seconds: number) =>
      load({
        pid: floorApp.pid!,
        url: `http://127.0.0.1:${floorPort}/me`,
        method: 'GET',
        headersFor: (i) => ({ 'x-citizen-id': readers[i % readers.length].id }),
        seconds,
        connections: CONNECTIONS,
      });
    const profile = await fetch(`http://127.0.0.1:${vaultPort}/v1/me`, {
      headers: { authorization: `Bearer ${readerTokens[0]}` },
    });
    const shown = profile.ok ? ((await profile.json()) as { attributes: unknown[] }).attributes.length : 0;
    if (shown !== HELD.length) throw new Error(`GET /v1/me showed ${shown} values, not ${HELD.length}`);

    const check = await fetch(`http://127.0.0.1:${brokerPort}/v1/data-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        citizen: { ppid: ppids[0] },
        purpose: 'licence-renewal',
        attributes: ATTRIBUTES,
      }),
    });
    const released = ((await check.json()) as { released: unknown[] }).released.length;
    if (released !== 3 || !check.headers.get('x-jws-signature'))
      throw new Error('the measured path did not release 3 signed values');

    log('• warming up the broker, the floor and the baseline (5 s each)');
    await runBroker(5);
    await runFloor('tx', 5);
    await runFloor('one', 5);
    await runBaseline(5);
    await runVault(5);
    await runFloorMe(5);
    // Planner statistics as autovacuum keeps them on a running server (some servers, this one
    // included, run with autovacuum off): without them the access-log head lookup keeps the
    // sequential-scan plan it was given while the log was empty.
    await db.query('ANALYZE');
    // Alternating rounds, so a slow spell of the machine weighs on both sides alike.
    for (let round = 1; round <= ROUNDS; round++) {
      log(
        `• round ${round}/${ROUNDS}: broker, floor (transaction, one statement), baseline, ${CONNECTIONS} connections, ${SECONDS} s each`,
      );
      full.push(await runBroker(SECONDS));
      floorTx.push(await runFloor('tx', SECONDS));
      floorOne.push(await runFloor('one', SECONDS));
      baseline.push(await runBaseline(SECONDS));
      me.push(await runVault(SECONDS));
      floorMe.push(await runFloorMe(SECONDS));
    }
    // Every request for one citizen, alternately from two services: appends to one chain queue.
    log(`• broker, one citizen from two services: ${CONNECTIONS} connections, ${SECONDS} s`);
    const first = await accessToken(brokerPort, SERVICE);
    const second = await accessToken(brokerPort, SECOND_SERVICE);
    sameCitizen = await load({
      pid: broker.pid!,
      url: `http://127.0.0.1:${brokerPort}/v1/data-requests`,
      body: (i) =>
        JSON.stringify(
          i % 2 === 0
            ? { citizen: { ppid: ppids[0] }, purpose: 'licence-renewal', attributes: ATTRIBUTES }
            : { citizen: { ppid: secondPpid }, purpose: 'tax-credit', attributes: ['address.residential'] },
        ),
      headersFor: (i) => ({ authorization: `Bearer ${i % 2 === 0 ? first : second}` }),
      seconds: SECONDS,
      connections: CONNECTIONS,
    });
    log(`• broker latency at light load: ${LIGHT_CONNECTIONS} connections, ${SECONDS} s`);
    light = await runBroker(SECONDS, LIGHT_CONNECTIONS);
  } finally {
    broker.kill('SIGTERM');
    baselineApp.kill('SIGTERM');
    floorApp.kill('SIGTERM');
    vault.kill('SIGTERM');
    await issuer.close();
  }
  // Every chain, the same-citizen one included, still verifies after the load (exits non-zero otherwise).
  const audit = execSync('node dist/apps/cli/src/main.js audit:verify', {
    env: { ...env, ...SECRETS, DATABASE_URL },
  })
    .toString()
    .trim();
  log(`• ${audit}`);
  const logged = Number((await db.query(`SELECT count(*) AS n FROM access_log_entry`)).rows[0].n);
  const activity = Number(
    (await db.query(`SELECT count(*) AS n FROM outbox_event WHERE type = 'service.active'`)).rows[0].n,
  );
  await db.end();

  const fullMedian = median(full);
  const baselineMedian = median(baseline);
  const floorMedian = median(floorTx);
  const floorOneMedian = median(floorOne);
  const meMedian = median(me);
  const floorMeMedian = median(floorMe);
  const meRatio = meMedian.requestsPerSecond / floorMeMedian.requestsPerSecond;
  const ratioTo = (m: Measure) => fullMedian.requestsPerSecond / m.requestsPerSecond;
  const ratio = ratioTo(floorMedian);
  const p99Ok = fullMedian.p99 <= 2 * floorMedian.p99;
  // Little's law: with CONNECTIONS requests always in flight, mean latency = CONNECTIONS ÷ throughput,
  // and throughput is at most cores ÷ machine CPU per request. So no run can average below this.
  const latencyFloor = (m: Measure) => (CONNECTIONS * m.machineCpu) / cpus().length;
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  const rows = [
    ...full.map((m, i) => [`broker, full path — round ${i + 1}`, m] as const),
    ...floorTx.map((m, i) => [`floor, transaction — round ${i + 1}`, m] as const),
    ...floorOne.map((m, i) => [`floor, one statement — round ${i + 1}`, m] as const),
    ...baseline.map((m, i) => [`Nest baseline — round ${i + 1}`, m] as const),
    ...me.map((m, i) => [`vault GET /v1/me — round ${i + 1}`, m] as const),
    ...floorMe.map((m, i) => [`floor, read of 12 values — round ${i + 1}`, m] as const),
    ...(sameCitizen ? [['broker, one citizen, two services', sameCitizen] as const] : []),
    ...(light ? [[`broker, ${LIGHT_CONNECTIONS} connections`, light] as const] : []),
  ];
  log('');
  for (const [name, m] of rows) {
    log(
      `${name.padEnd(32)} ${m.requestsPerSecond.toFixed(0).padStart(6)} req/s   p50 ${m.p50} ms   p99 ${m.p99} ms   CPU/request: app ${m.appCpu.toFixed(2)} ms, load generator ${m.loadCpu.toFixed(2)} ms, machine ${m.machineCpu.toFixed(2)} ms   errors ${m.errors}   non-2xx ${m.non2xx}`,
    );
  }
  log(
    `median: broker ${fullMedian.requestsPerSecond.toFixed(0)} req/s, floor ${floorMedian.requestsPerSecond.toFixed(0)} (one statement ${floorOneMedian.requestsPerSecond.toFixed(0)}), Nest baseline ${baselineMedian.requestsPerSecond.toFixed(0)} req/s`,
  );
  log(
    `ratio to the floor's transaction ${(ratio * 100).toFixed(1)} % (target ≥ 50 %: ${verdict(ratio >= 0.5)}); broker p99 ${fullMedian.p99} ms, floor p99 ${floorMedian.p99} ms (target ≤ twice: ${verdict(p99Ok)})`,
  );
  log(
    `GET /v1/me: vault ${meMedian.requestsPerSecond.toFixed(0)} req/s (p99 ${meMedian.p99} ms), floor ${floorMeMedian.requestsPerSecond.toFixed(0)} req/s (p99 ${floorMeMedian.p99} ms): ${(meRatio * 100).toFixed(1)} % (target ≥ 50 %: ${verdict(meRatio >= 0.5)})`,
  );
  log(
    `least possible mean latency at ${CONNECTIONS} connections on this machine: broker ${latencyFloor(fullMedian).toFixed(0)} ms, floor ${latencyFloor(floorMedian).toFixed(0)} ms`,
  );

  writeSection(
    'broker',
    `## Broker: \`POST /v1/data-requests\`

${machineLine(DATABASE_URL)} The load generator,
the app under test and PostgreSQL share the machine.

| run | req/s | p50 | p99 | CPU/request: app | load generator | machine | errors | non-2xx | requests |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.map(([name, m]) => `| ${name} | ${m.requestsPerSecond.toFixed(0)} | ${m.p50} ms | ${m.p99} ms | ${m.appCpu.toFixed(2)} ms | ${m.loadCpu.toFixed(2)} ms | ${m.machineCpu.toFixed(2)} ms | ${m.errors} | ${m.non2xx} | ${m.total} |`).join('\n')}

Medians: broker **${fullMedian.requestsPerSecond.toFixed(0)} req/s**, p50 ${fullMedian.p50} ms, p99 ${fullMedian.p99} ms;
floor ${floorMedian.requestsPerSecond.toFixed(0)} req/s in a transaction (p99 ${floorMedian.p99} ms), ${floorOneMedian.requestsPerSecond.toFixed(0)} req/s as one statement (p99 ${floorOneMedian.p99} ms);
Nest baseline ${baselineMedian.requestsPerSecond.toFixed(0)} req/s, p99 ${baselineMedian.p99} ms.

- Throughput: **${(ratio * 100).toFixed(1)} %** of the floor's transaction — target ≥ 50 %: ${verdict(ratio >= 0.5)}
  (${(ratioTo(floorOneMedian) * 100).toFixed(1)} % of its one statement, ${(ratioTo(baselineMedian) * 100).toFixed(1)} % of the Nest baseline).
- Latency: broker p99 **${fullMedian.p99} ms**, ${(fullMedian.p99 / floorMedian.p99).toFixed(1)} × the floor's — target ≤ 2 ×: ${verdict(p99Ok)}.
- \`GET /v1/me\` (${HELD.length} values): vault **${meMedian.requestsPerSecond.toFixed(0)} req/s**, p99 ${meMedian.p99} ms;
  floor ${floorMeMedian.requestsPerSecond.toFixed(0)} req/s, p99 ${floorMeMedian.p99} ms: **${(meRatio * 100).toFixed(1)} %** — target ≥ 50 %: ${verdict(meRatio >= 0.5)}.

How it was run: ${CITIZENS.toLocaleString('en')} citizens seeded in bulk (\`bench/bulk-seed.ts\`: \`COPY\`, the rows the
real services write, values sealed under each citizen's data key by the crypto lib), each holding a value of
all ${HELD.length} catalogue attributes, an ongoing consent for \`${SERVICE}\` and an access log of ${LOG_ENTRIES} entries
(${(CITIZENS * LOG_ENTRIES).toLocaleString('en')} in all); autocannon with ${CONNECTIONS} connections, a 5 s
warm-up of each app, then \`ANALYZE\` (the statistics autovacuum keeps current on a running server;
this one runs with autovacuum off), then ${ROUNDS} alternating rounds of ${SECONDS} s (broker, floors, Nest
baseline, vault, read floor), each request for a random citizen. Each runs from the build, one process each, the apps in production mode with
\`LOG_LEVEL=warn\`, an Ed25519 platform signing key and ${env.DATABASE_POOL_SIZE ?? 4} PostgreSQL connections each
(\`DATABASE_POOL_SIZE\`). CPU per request is read from \`/proc\` around each run: the app's process,
the load generator's, and the whole machine's busy time.

- **Full path**: access-token check, rights and consent (rule 1), the data key unwrapped and three
  values decrypted, the access-log append (hash chain), the service-activity outbox event, and the
  detached JWS over the response body. The run wrote ${logged.toLocaleString('en')} access-log entries and
  ${activity} service-activity event(s) (one per service and day, by design).
- **Floor** (\`bench/floor-server.ts\`): the least this machine does for the same work — \`node:http\` and
  \`pg\`, no framework, one indexed read of \`attribute_value\` and one insert, with named statements and the
  same pool size: in a transaction (BEGIN, read, insert, COMMIT: the row the targets compare with), and as
  one statement.
- **Nest baseline**: the same two statements in a transaction behind the apps' Nest/Express stack
  (validation, logging, problem filter): what the framework alone costs.
- **\`GET /v1/me\`**: the vault's answer to a citizen, for a random one of ${Math.min(CITIZENS, 2000).toLocaleString('en')} citizens
  each with a token of their own (ES256, from a JWKS on loopback): the token checked, the citizen found,
  the data key unwrapped and the ${HELD.length} values decrypted, each with its source and the catalogue's label.
  Its floor (\`GET /me\` of the floor server) reads the same ${HELD.length} rows by citizen id with one named
  statement and answers them still sealed.

How to read it:

- The **ratio** to the floor is what the platform — its framework and its guarantees — costs over the
  least a request to PostgreSQL can do on this machine, so it is the figure to compare between runs. Absolute numbers move by ±20 %
  between runs here (CPU per request with them: the machine itself runs faster or slower), which is
  why the rounds alternate and medians are kept.
- Each app is one Node.js process, and each is bound by it: app CPU per request × req/s is close to
  one core. That is also why the broker's throughput follows its app CPU per request.
- **Latency at ${CONNECTIONS} connections is set by throughput**, not by the code path: with ${CONNECTIONS} requests
  always in flight, the mean latency is ${CONNECTIONS} ÷ throughput (Little's law), and throughput is at most
  ${cpus().length} cores ÷ machine CPU per request. From the medians' CPU, no run on this machine can average
  below **${latencyFloor(fullMedian).toFixed(0)} ms** for the broker and ${latencyFloor(floorMedian).toFixed(0)} ms for the floor,
  whatever the scheduling: the p99s compare as the machine CPU per request does (the broker's
  ${fullMedian.machineCpu.toFixed(2)} ms, the floor's ${floorMedian.machineCpu.toFixed(2)} ms).
- **One citizen, two services**: every request for the same citizen, alternately from \`${SERVICE}\`
  (three values under consent) and \`${SECOND_SERVICE}\` (the address under a legal basis), ${CONNECTIONS}
  connections. Appends to one citizen's chain queue behind its lock instead of failing: the non-2xx
  column must read 0. \`audit:verify\` after all the runs: ${audit}
- The last row shows the broker's latency at a lighter load (${LIGHT_CONNECTIONS} connections): p99 ${light?.p99} ms.
`,
  );
  log('docs/benchmarks.md written.');
}

await main();
