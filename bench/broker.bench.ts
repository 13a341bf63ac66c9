/**
 * npm run bench:broker — POST /v1/data-requests under load, full path, against
 * the floor (the same two round trips to PostgreSQL from a bare node:http
 * server: in a transaction, and as one statement) and the Nest baseline (the
 * same two behind the apps' HTTP stack). Writes docs/benchmarks.md.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/unefois_bench, dropped and
 * recreated), BENCH_CITIZENS (10000), BENCH_CONNECTIONS (50), BENCH_SECONDS (15 per measured run),
 * BENCH_ROUNDS (3 alternating rounds of broker, floor and baseline; medians are reported).
 */
import 'reflect-metadata';
import { execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { ConsentsService } from '#libs/consent';
import { PairwiseIds } from '#libs/identity';
import { AttributesService } from '#libs/vault';
import { domainContext } from '../apps/cli/src/domain-context.js';
import {
  accessToken,
  BROKER_SECRETS,
  cpuMs,
  freePort,
  log,
  machineCpuMs,
  machineLine,
  procfs,
  recreateDatabase,
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
const SERVICE = 'saaq-permis';
/** The second service of the same-citizen run: RQ's tax credits, released under a legal basis. */
const SECOND_SERVICE = 'rq-credits';
const ATTRIBUTES = ['address.residential', 'contact.email', 'identity.birthdate'];

/**
 * 10,000 citizens, each with 3 encrypted values and an ongoing consent for the service, through the
 * real services; the first is also known to RQ, for the same-citizen run.
 */
async function seed(): Promise<{ ppids: string[]; secondPpid: string }> {
  const app = await domainContext({ ...env, ...SECRETS, DATABASE_URL });
  const dataSource = app.get(DataSource);
  const attributes = app.get(AttributesService);
  const consents = app.get(ConsentsService);
  const pairwise = app.get(PairwiseIds);
  const ppids: string[] = [];
  let secondPpid = '';
  const values: Record<string, unknown> = {
    'address.residential': {
      line1: '1000 rue Sherbrooke Ouest',
      city: 'Montréal',
      province: 'QC',
      postalCode: 'H3A 3G4',
    },
    'contact.email': 'citoyen@exemple.ca',
    'identity.birthdate': '1980-06-24',
  };
  for (let start = 0; start < CITIZENS; start += 250) {
    await dataSource.transaction(async (em) => {
      for (let i = start; i < Math.min(start + 250, CITIZENS); i++) {
        const citizenId = randomUUID();
        await em.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'bench', $2)`, [
          citizenId,
          `citizen-${i}`,
        ]);
        for (const code of ATTRIBUTES) {
          await attributes.write(em, citizenId, code, values[code] as never, {
            kind: 'organisation',
            organisationId: 'SAAQ',
            serviceId: 'saaq-adresse',
          });
        }
        await consents.grantIn(
          em,
          citizenId,
          { service: SERVICE, purpose: 'licence-renewal', attributes: ATTRIBUTES, mode: 'ongoing' },
          null,
        );
        ppids.push(pairwise.of('SAAQ', citizenId));
        if (i === 0) secondPpid = await pairwise.issue(em, 'RQ', citizenId);
      }
    });
  }
  await app.close();
  return { ppids, secondPpid };
}

interface Measure {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
  /**
   * CPU time per request, in ms (Linux only): the app under test, the load
   * generator (this process), and the whole machine (both, PostgreSQL, the kernel).
   */
  appCpu: number;
  loadCpu: number;
  machineCpu: number;
}

async function load(
  pid: number,
  url: string,
  headers: Record<string, string>,
  body: (i: number) => string,
  seconds: number,
  connections = CONNECTIONS,
  headersFor?: (i: number) => Record<string, string>,
): Promise<Measure> {
  let i = 0;
  const cpuBefore = procfs ? [cpuMs(pid), cpuMs(process.pid), machineCpuMs()] : [];
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        setupRequest: (request) => {
          const n = i++;
          return { ...request, body: body(n), headers: { ...request.headers, ...headersFor?.(n) } };
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    appCpu: procfs ? (cpuMs(pid) - cpuBefore[0]) / result.requests.total : NaN,
    loadCpu: procfs ? (cpuMs(process.pid) - cpuBefore[1]) / result.requests.total : NaN,
    machineCpu: procfs ? (machineCpuMs() - cpuBefore[2]) / result.requests.total : NaN,
  };
}

async function main(): Promise<void> {
  log('• preparing a database and seeding citizens (through the real services)…');
  await recreateDatabase(DATABASE_URL);
  const setup = new pg.Client({ connectionString: DATABASE_URL });
  await setup.connect();
  await setup.query(
    `CREATE TABLE bench_baseline_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, citizen_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
  );
  await setup.end();
  const started = Date.now();
  const { ppids, secondPpid } = await seed();
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const citizenIds = (await db.query(`SELECT id FROM citizen ORDER BY id`)).rows.map(
    (r: { id: string }) => r.id,
  );
  await db.query('VACUUM ANALYZE');
  log(`  ${CITIZENS} citizens seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`);

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
  const full: Measure[] = [];
  const baseline: Measure[] = [];
  const floorTx: Measure[] = [];
  const floorOne: Measure[] = [];
  let light: Measure | undefined;
  let sameCitizen: Measure | undefined;
  try {
    const token = await accessToken(brokerPort, SERVICE);
    const secondToken = await accessToken(brokerPort, SECOND_SERVICE);
    const runBroker = (seconds: number, connections = CONNECTIONS) =>
      load(
        broker.pid!,
        `http://127.0.0.1:${brokerPort}/v1/data-requests`,
        { authorization: `Bearer ${token}` },
        () =>
          JSON.stringify({
            citizen: { ppid: random(ppids) },
            purpose: 'licence-renewal',
            attributes: ATTRIBUTES,
          }),
        seconds,
        connections,
      );
    const runBaseline = (seconds: number) =>
      load(
        baselineApp.pid!,
        `http://127.0.0.1:${baselinePort}/baseline`,
        {},
        () => JSON.stringify({ citizenId: random(citizenIds) }),
        seconds,
      );

    const runFloor = (path: 'tx' | 'one', seconds: number) =>
      load(
        floorApp.pid!,
        `http://127.0.0.1:${floorPort}/${path}`,
        {},
        () => JSON.stringify({ citizenId: random(citizenIds) }),
        seconds,
      );

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
    }
    // Every request for one citizen, alternately from two services: appends to one chain queue.
    log(`• broker, one citizen from two services: ${CONNECTIONS} connections, ${SECONDS} s`);
    sameCitizen = await load(
      broker.pid!,
      `http://127.0.0.1:${brokerPort}/v1/data-requests`,
      {},
      (i) =>
        JSON.stringify(
          i % 2 === 0
            ? { citizen: { ppid: ppids[0] }, purpose: 'licence-renewal', attributes: ATTRIBUTES }
            : { citizen: { ppid: secondPpid }, purpose: 'tax-credit', attributes: ['address.residential'] },
        ),
      SECONDS,
      CONNECTIONS,
      (i) => ({ authorization: `Bearer ${i % 2 === 0 ? token : secondToken}` }),
    );
    log(`• broker latency at light load: ${LIGHT_CONNECTIONS} connections, ${SECONDS} s`);
    light = await runBroker(SECONDS, LIGHT_CONNECTIONS);
  } finally {
    broker.kill('SIGTERM');
    baselineApp.kill('SIGTERM');
    floorApp.kill('SIGTERM');
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
    (await db.query(`SELECT count(*) AS n FROM outbox_event WHERE topic = 'metric'`)).rows[0].n,
  );
  await db.end();

  const median = (runs: Measure[]): Measure =>
    [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)];
  const fullMedian = median(full);
  const baselineMedian = median(baseline);
  const floorMedian = median(floorTx);
  const floorOneMedian = median(floorOne);
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

How it was run: ${CITIZENS.toLocaleString('en')} citizens seeded through the real services (values encrypted under
their data keys, an ongoing consent each for \`${SERVICE}\`); autocannon with ${CONNECTIONS} connections, a 5 s
warm-up of each app, then \`ANALYZE\` (the statistics autovacuum keeps current on a running server;
this one runs with autovacuum off), then ${ROUNDS} alternating rounds of ${SECONDS} s (broker, then baseline), each
request for a random citizen. Each runs from the build, one process each, the apps in production mode with
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
