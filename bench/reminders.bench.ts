/**
 * npm run bench:reminders — deadlines registered through the broker, then their
 * reminders dispatched by the scheduler to a local SMTP sink, against a bare
 * loop that only writes the same messages to the same sink. Writes its section
 * of docs/benchmarks.md.
 *
 * Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/unefois_bench_reminders,
 * dropped and recreated), BENCH_DEADLINES (100000), BENCH_CITIZENS (10000), BENCH_CONNECTIONS (50),
 * BENCH_WAVE (30000: reminders made due in each of the two dispatch waves), BENCH_WARMUP (5000: reminders
 * sent first and not counted, as the floor's first messages are), BENCH_SCHEDULERS (one per core).
 */
import 'reflect-metadata';
import { type ChildProcess, execSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { PairwiseIds } from '#libs/identity';
import { composeMail, mailSender } from '#libs/channels';
import { AttributesService } from '#libs/vault';
import { domainContext } from '../apps/cli/src/domain-context.js';
import { startBarometerSink } from './barometer-sink.js';
import { startSmtpSink } from './smtp-sink.js';
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
const DATABASE_URL = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unefois_bench_reminders';
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DEADLINES = Number(env.BENCH_DEADLINES ?? 100_000);
const CITIZENS = Number(env.BENCH_CITIZENS ?? 10_000);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50);
const WAVE = Number(env.BENCH_WAVE ?? 30_000);
/**
 * Sent before the waves and not counted: the processes' first seconds (code being compiled, connection
 * pools and TLS sessions opening) run at a third of their later speed, which a scheduler running for days
 * pays once. The floor warms up with as many messages.
 */
const WARMUP = Number(env.BENCH_WARMUP ?? 5_000);
/** Scheduler processes: one per core, as a deployment runs Node (one process uses one core for its JavaScript). */
const SCHEDULERS = Number(env.BENCH_SCHEDULERS ?? availableParallelism());
const SERVICE = 'rq-credits';
const ORGANISATION = 'RQ';
const KIND = 'tax-filing';
/** Keys of this run in the shared Redis: nothing else is touched, and they are removed at the end. */
const REDIS_PREFIX = `bench-reminders-${process.pid}`;

/**
 * A certificate for 127.0.0.1 made for this run: a production scheduler speaks
 * SMTP over TLS only, and trusts it through NODE_EXTRA_CA_CERTS like any CA.
 */
function sinkCertificate(): { keyFile: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'une-fois-bench-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execSync(
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 ` +
      `-addext subjectAltName=IP:127.0.0.1 -keyout ${keyFile} -out ${certFile}`,
    { stdio: 'ignore' },
  );
  return { keyFile, certFile };
}
const TLS = sinkCertificate();

/** Citizens with an e-mail address in the vault, known to the service's organisation. */
async function seedCitizens(): Promise<string[]> {
  const app = await domainContext({ ...env, ...SECRETS, DATABASE_URL });
  const dataSource = app.get(DataSource);
  const attributes = app.get(AttributesService);
  const pairwise = app.get(PairwiseIds);
  const ppids: string[] = [];
  for (let start = 0; start < CITIZENS; start += 500) {
    await dataSource.transaction(async (em) => {
      for (let i = start; i < Math.min(start + 500, CITIZENS); i++) {
        const citizenId = randomUUID();
        // No quiet hours: the dispatch runs whatever the time of day in Montréal.
        await em.query(
          `INSERT INTO citizen (id, issuer, subject, quiet_hours) VALUES ($1, 'bench', $2, '{"start": "00:00", "end": "00:00"}')`,
          [citizenId, `citizen-${i}`],
        );
        await attributes.write(em, citizenId, 'contact.email', `citoyen-${i}@exemple.ca`, {
          kind: 'citizen',
        });
        ppids.push(await pairwise.issue(em, ORGANISATION, citizenId));
      }
    });
  }
  await app.close();
  return ppids;
}

interface Dispatch {
  reminders: number;
  /** Reminders still in the future while the wave was sent. */
  future: number;
  seconds: number;
  perSecond: number;
  peakRedisBytes: number;
  schedulerCpuMs: number;
  machineCpuMs: number;
}

async function pendingMetricEvents(db: pg.Client): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'metric' AND status = 'pending'`,
  );
  return (rows[0] as { n: number }).n;
}

/** Waits until the relay has delivered every metric event written so far. */
async function drainMetricEvents(db: pg.Client): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (let left = await pendingMetricEvents(db); left > 0; left = await pendingMetricEvents(db)) {
    if (Date.now() > deadline) throw new Error(`${left} metric events still pending after 30 min`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
}

/** Makes `count` scheduled reminders due now, then waits until the scheduler has sent them all. */
async function dispatch(
  db: pg.Client,
  redis: Redis,
  sink: { received: () => number },
  schedulerPids: number[],
  count: number,
  redisBaseline: number,
): Promise<Dispatch> {
  const future =
    Number((await db.query(`SELECT count(*) AS n FROM reminder WHERE status = 'scheduled'`)).rows[0].n) -
    count;
  const before = sink.received();
  let peak = await usedMemory(redis);
  const schedulerCpu = () => schedulerPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const cpuBefore = procfs ? [schedulerCpu(), machineCpuMs()] : [];
  // The clock reaching them: their send time becomes now.
  await db.query(
    `UPDATE reminder SET send_at = now() WHERE id IN
       (SELECT id FROM reminder WHERE status = 'scheduled' ORDER BY send_at LIMIT $1)`,
    [count],
  );
  let first = 0;
  const deadline = Date.now() + 30 * 60_000;
  while (sink.received() - before < count) {
    if (Date.now() > deadline)
      throw new Error(`only ${sink.received() - before} of ${count} arrived in 30 min`);
    if (!first && sink.received() > before) first = Date.now();
    peak = Math.max(peak, await usedMemory(redis));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (Date.now() - (first || Date.now())) / 1000;
  return {
    reminders: count,
    future,
    seconds,
    perSecond: count / seconds,
    peakRedisBytes: peak - redisBaseline,
    schedulerCpuMs: procfs ? (schedulerCpu() - cpuBefore[0]) / count : NaN,
    machineCpuMs: procfs ? (machineCpuMs() - cpuBefore[1]) / count : NaN,
  };
}

/**
 * The floor: the same number of messages of the same shape written to the same sink by a bare loop, no
 * database and no queue. `composed`: each message composed as the e-mail channel does (composeMail) and
 * handed to the same pooled nodemailer transport, the least the machine does for the same mail;
 * `nodemailer`: nodemailer composing each message itself, for comparison. The first `warmup` messages
 * are not timed, as the scheduler's are not.
 */
async function bareLoop(
  port: number,
  count: number,
  concurrency: number,
  mode: 'composed' | 'nodemailer',
  warmup: number,
): Promise<number> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    requireTLS: true,
    tls: { ca: readFileSync(TLS.certFile) },
    pool: true,
    maxConnections: concurrency,
    maxMessages: Infinity,
  });
  const ics = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nEND:VCALENDAR\r\n';
  const from = 'Une fois <rappels@une-fois.quebec>';
  const sender = mailSender(from);
  const subject = 'Rappel : production de la déclaration de revenus';
  const text = 'Votre déclaration de revenus est à produire au plus tard le 30 avril 2027.';
  const html = '<p>Votre déclaration de revenus est à produire au plus tard le 30 avril 2027.</p>';
  let next = 0;
  let started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency * 4 }, async () => {
      while (next < warmup + count) {
        const n = next++;
        if (n === warmup) started = Date.now();
        const to = `citoyen-${n}@exemple.ca`;
        const messageId = `<${randomUUID()}@une-fois.quebec>`;
        if (mode === 'nodemailer') {
          await transport.sendMail({
            from,
            to,
            messageId,
            subject,
            text,
            html,
            icalEvent: { method: 'PUBLISH', content: ics },
          });
          continue;
        }
        const mail = composeMail({
          from: sender,
          to,
          messageId,
          date: new Date(),
          language: 'fr',
          subject,
          text,
          html,
          attachment: {
            filename: 'echeance.ics',
            contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
            content: ics,
          },
        });
        await transport.sendMail({
          envelope: { from: mail.envelope.from, to: [mail.envelope.to] },
          raw: mail.raw,
          messageId,
        });
      }
    }),
  );
  transport.close();
  return count / ((Date.now() - started) / 1000);
}

async function removeKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}:*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = nextCursor;
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  log(`• preparing a database and seeding ${CITIZENS} citizens with an e-mail address…`);
  await recreateDatabase(DATABASE_URL);
  const ppids = await seedCitizens();
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  await db.query('VACUUM ANALYZE');
  const redis = new Redis(REDIS_URL);
  const sink = await startSmtpSink({ key: readFileSync(TLS.keyFile), cert: readFileSync(TLS.certFile) });
  const barometer = await startBarometerSink({
    key: readFileSync(TLS.keyFile),
    cert: readFileSync(TLS.certFile),
  });

  const brokerPort = await freePort();
  const broker = await startProcess('dist/apps/broker/src/main.js', `http://127.0.0.1:${brokerPort}/health`, {
    DATABASE_URL,
    BROKER_PORT: String(brokerPort),
    BROKER_URL: `http://127.0.0.1:${brokerPort}`,
    ...BROKER_SECRETS,
  });
  let creation: { perSecond: number; p99: number; non2xx: number; errors: number; seconds: number };
  // Planner statistics as autovacuum keeps them on a running server (this one may run with autovacuum
  // off): a plan made while the tables were empty, such as the foreign-key check of each reminder
  // against its deadline, would otherwise scan the whole table for every row.
  const analyze = setInterval(() => {
    db.query('ANALYZE deadline, reminder').catch((error: Error) => log(`  ANALYZE failed: ${error.message}`));
  }, 10_000);
  // Access tokens live 5 minutes: the service takes a new one every 4, as a real client would.
  let token = await accessToken(brokerPort, SERVICE);
  const refresh = setInterval(() => {
    accessToken(brokerPort, SERVICE).then(
      (fresh) => (token = fresh),
      (error: Error) => log(`  token refresh failed: ${error.message}`),
    );
  }, 240_000);
  try {
    const dueAt = new Date(Date.now() + 40 * 86_400_000).toISOString();
    let i = 0;
    log(`• registering ${DEADLINES} deadlines through POST /v1/deadlines, ${CONNECTIONS} connections`);
    const started = Date.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${brokerPort}/v1/deadlines`,
      connections: CONNECTIONS,
      amount: DEADLINES,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => {
            const n = i++;
            return {
              ...request,
              headers: { ...request.headers, authorization: `Bearer ${token}` },
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
    creation = {
      perSecond: DEADLINES / seconds,
      p99: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      seconds,
    };
  } finally {
    clearInterval(refresh);
    clearInterval(analyze);
    broker.kill('SIGTERM');
  }
  const counts = (
    await db.query(
      `SELECT (SELECT count(*) FROM deadline)::int AS deadlines,
              (SELECT count(*) FROM reminder WHERE status = 'scheduled')::int AS reminders`,
    )
  ).rows[0] as { deadlines: number; reminders: number };
  log(
    `  ${counts.deadlines} deadlines, ${counts.reminders} reminders scheduled, ${creation.perSecond.toFixed(0)} deadlines/s, non-2xx ${creation.non2xx}`,
  );
  if (counts.deadlines !== DEADLINES)
    throw new Error(`expected ${DEADLINES} deadlines, found ${counts.deadlines}`);
  await db.query('VACUUM ANALYZE');

  const registered = await pendingMetricEvents(db);
  const redisBaseline = await usedMemory(redis);
  const relayStarted = Date.now();
  const schedulers: ChildProcess[] = [];
  for (let n = 0; n < SCHEDULERS; n++) {
    const schedulerPort = await freePort();
    schedulers.push(
      await startProcess('dist/apps/scheduler/src/main.js', `http://127.0.0.1:${schedulerPort}/health`, {
        DATABASE_URL,
        REDIS_URL,
        REDIS_PREFIX,
        SCHEDULER_PORT: String(schedulerPort),
        SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
        MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
        BAROMETER_URL: barometer.url,
        NODE_EXTRA_CA_CERTS: TLS.certFile,
      }),
    );
  }
  const schedulerPids = schedulers.map((scheduler) => scheduler.pid!);
  // The registration wrote one `deadline.registered` metric event per deadline while no scheduler ran; a
  // scheduler running all along would have relayed them as they came. The waves start once they are
  // relayed, so that they carry the relay of their own events only.
  const relayedAt = drainMetricEvents(db).then(() => Date.now());
  const waves: Dispatch[] = [];
  const warmup = Math.min(WARMUP, Math.floor(counts.reminders / 10));
  let idleRedisBytes: number | undefined;
  let relaySeconds: number | undefined;
  try {
    await new Promise((resolve) => setTimeout(resolve, 20_000)); // a sweep or more
    idleRedisBytes = (await usedMemory(redis)) - redisBaseline;
    log(
      `• idle scheduler over ${counts.reminders} future reminders: Redis grows by ${idleRedisBytes / 1024} KiB`,
    );
    relaySeconds = ((await relayedAt) - relayStarted) / 1000;
    log(
      `• the registration's ${registered} metric events relayed to the barometer ${relaySeconds.toFixed(1)} s after the schedulers' boot began`,
    );
    log(`• warm-up: ${warmup} reminders due, not counted`);
    await dispatch(db, redis, sink, schedulerPids, warmup, redisBaseline);
    const wave = Math.min(WAVE, Math.floor((counts.reminders - warmup) / 2));
    log(`• dispatch, wave 1: ${wave} reminders due, ${counts.reminders - warmup - wave} still in the future`);
    waves.push(await dispatch(db, redis, sink, schedulerPids, wave, redisBaseline));
    // The same number again with no future reminder left: set aside all but the next wave.
    await db.query(
      `UPDATE reminder SET status = 'cancelled', reason = 'set aside by the benchmark', cancelled_at = now()
       WHERE status = 'scheduled' AND id NOT IN
         (SELECT id FROM reminder WHERE status = 'scheduled' ORDER BY send_at, id LIMIT $1)`,
      [wave],
    );
    // What autovacuum does after an update of most of the table (this server may run with it off): the
    // set-aside's dead rows and index entries are the benchmark's, not the dispatch's.
    await db.query('VACUUM ANALYZE reminder');
    log(`• dispatch, wave 2: ${wave} reminders due, none in the future`);
    waves.push(await dispatch(db, redis, sink, schedulerPids, wave, redisBaseline));
  } finally {
    // Each stops after writing what its sends in flight did: the statuses below are final.
    await Promise.all(
      schedulers.map(
        (scheduler) =>
          new Promise((resolve) => {
            if (scheduler.exitCode !== null || scheduler.signalCode !== null) return resolve(null);
            scheduler.once('exit', resolve);
            scheduler.kill('SIGTERM');
          }),
      ),
    );
  }
  const states = (
    await db.query(`SELECT status, count(*)::int AS n FROM reminder GROUP BY status ORDER BY status`)
  ).rows as { status: string; n: number }[];
  const duplicates = sink.received() - sink.distinct();
  log(
    `  reminder statuses: ${states.map((s) => `${s.status} ${s.n}`).join(', ')}; duplicate e-mails ${duplicates}`,
  );

  log('• floor: a bare loop writing the same number of messages to the same sink');
  const floor = await bareLoop(sink.port, waves[0].reminders, 16, 'composed', warmup);
  const nodemailerFloor = await bareLoop(sink.port, waves[0].reminders, 16, 'nodemailer', warmup);
  await sink.close();
  await barometer.close();
  await removeKeys(redis);
  redis.disconnect();
  await db.end();

  const rate = Math.min(...waves.map((w) => w.perSecond));
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  for (const [name, w] of waves.map((w, n) => [`wave ${n + 1}`, w] as const)) {
    log(
      `${name}: ${w.reminders} reminders in ${w.seconds.toFixed(1)} s = ${w.perSecond.toFixed(0)}/s, peak Redis +${kib(w.peakRedisBytes)}, CPU/reminder scheduler ${w.schedulerCpuMs.toFixed(2)} ms, machine ${w.machineCpuMs.toFixed(2)} ms`,
    );
  }
  log(
    `bare loop: ${floor.toFixed(0)} messages/s (nodemailer composing: ${nodemailerFloor.toFixed(0)}/s); ratio ${((rate / floor) * 100).toFixed(1)} %`,
  );

  writeSection(
    'reminders',
    `## Reminders: registration and dispatch

${machineLine(DATABASE_URL)} The broker, the scheduler, PostgreSQL, Redis and the SMTP sink share the machine.

| step | count | rate | other |
| --- | ---: | ---: | --- |
| deadlines registered through \`POST /v1/deadlines\` (${CONNECTIONS} connections) | ${DEADLINES.toLocaleString('en')} (${counts.reminders.toLocaleString('en')} reminders) | ${creation.perSecond.toFixed(0)} /s | p99 ${creation.p99} ms, non-2xx ${creation.non2xx}, errors ${creation.errors} |
| the registration's \`deadline.registered\` metric events relayed to the barometer (https, batches of 500) from the schedulers' boot, before the waves | ${registered.toLocaleString('en')} | ${(registered / relaySeconds!).toFixed(0)} /s | |
${waves.map((w, n) => `| dispatch wave ${n + 1}: reminders sent (e-mail with .ics + portal notification), ${w.future.toLocaleString('en')} others in the future | ${w.reminders.toLocaleString('en')} | **${w.perSecond.toFixed(0)} /s** | peak Redis +${kib(w.peakRedisBytes)}; CPU/reminder: scheduler ${w.schedulerCpuMs.toFixed(2)} ms, machine ${w.machineCpuMs.toFixed(2)} ms |`).join('\n')}
| floor: bare loop, messages composed as the channel does → the same transport and sink | ${waves[0].reminders.toLocaleString('en')} | ${floor.toFixed(0)} /s | |
| for comparison: bare loop, nodemailer composing each message | ${waves[0].reminders.toLocaleString('en')} | ${nodemailerFloor.toFixed(0)} /s | |

- Dispatch: **${rate.toFixed(0)} reminders/s** (the slower wave) — target ≥ 1,000/s: ${rate >= 1000 ? 'met' : 'not met'}; **${((rate / floor) * 100).toFixed(1)} %** of the bare loop's rate
  in the same run, the figure to compare between machines.
- Redis holds the in-flight window only (\`REMINDER_IN_FLIGHT\`), with the finished jobs BullMQ keeps
  (1,000 of each, trimmed) and its capped event stream: above its level before the scheduler started,
  its peak while sending is +${kib(waves[0].peakRedisBytes)} with ${waves[0].future.toLocaleString('en')} reminders in the future and
  +${kib(waves[1].peakRedisBytes)} with none; the idle scheduler over all ${counts.reminders.toLocaleString('en')} future reminders added
  ${kib(idleRedisBytes ?? NaN)}. Future reminders are rows, not jobs.
- Statuses after the run: ${states.map((s) => `${s.status} ${s.n.toLocaleString('en')}`).join(', ')}; e-mails received twice: ${duplicates}.

How it was run: ${CITIZENS.toLocaleString('en')} citizens seeded with an e-mail address in the vault (encrypted) and
known to ${ORGANISATION}; ${DEADLINES.toLocaleString('en')} \`${KIND}\` deadlines 40 days ahead registered by \`${SERVICE}\` with autocannon
(each creates its 30-, 7- and 1-day reminders in the same transaction), with \`ANALYZE\` every 10 s as
autovacuum would run it (this server runs with autovacuum off). Then the scheduler (${SCHEDULERS} processes, one per
core, production mode, defaults; the run's metric events relayed in the background to a barometer that takes
every batch, over https) and the reminders made due by setting their send time to now — what the clock
reaching them does — once the registration's metric events were relayed (no scheduler ran while they were
written), first ${warmup.toLocaleString('en')} to warm the processes up (not counted: their first seconds
run at a third of their later speed), then two waves of the same size, the first with the other reminders still in the
future, the second with them set aside (then \`VACUUM ANALYZE\`, as autovacuum does after such an update). The rate runs from the first message at the sink to the last.
The sink answers SMTP (with PIPELINING, each chunk's replies in one write, as a real server does) and
counts messages, parsing nothing else (bench/smtp-sink.ts). The floor sends the same number of messages
of the same shape (text, HTML, an .ics part), composed by the e-mail channel's composeMail and handed to
nodemailer's pooled transport (16 connections) as the channel does, and nothing else: no database, no
queue, after as many warm-up messages as the scheduler had; the row below it lets nodemailer compose each message, as the channel did before. Both speak SMTP over STARTTLS to the sink, with a
certificate made for the run.
`,
  );
  log('docs/benchmarks.md written.');
}

await main();
