import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import type { RunningApp } from './support/apps.js';
import { JwksServer, startBarometer } from './support/barometer.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`${what}: not reached in time`);
    await sleep(100);
  }
}

/**
 * The relay killed between the barometer's answer and the write that marks
 * the events sent: the barometer has them, the outbox still says pending.
 * The next scheduler sends them again, under the same ids, and the barometer
 * ignores every one.
 */
describe('Barometer fault: the relay killed after sending, before marking sent', () => {
  let db: TestDatabase;
  let jwks: JwksServer;
  let barometer: RunningApp;
  let gate: Server;
  let child: ChildProcess | null = null;
  /** Each answer of the barometer, as the relay would have read it. */
  const answers: { status: number; body: { received: number; stored: number; duplicates: number } }[] = [];
  let killOnNextAnswer = false;

  beforeAll(async () => {
    // The scheduler runs as `npm run start:scheduler` does: from the build, in a process of its own.
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
    db = await createTestDatabase('barorelaykill');
    // The development platform key: the one the scheduler signs with outside production.
    jwks = await new JwksServer(
      new PlatformSigner(AppConfig.fromEnvironment({ NODE_ENV: 'test' }).signingKeys),
    ).start();
    barometer = await startBarometer(db, jwks.url);
    // Passes each POST to the barometer, and can kill the scheduler once the barometer has answered.
    gate = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const answer = await fetch(`${barometer.url}${request.url}`, {
          method: 'POST',
          headers: {
            'content-type': String(request.headers['content-type']),
            'x-jws-signature': String(request.headers['x-jws-signature']),
          },
          body: Buffer.concat(chunks),
        });
        const text = await answer.text();
        answers.push({ status: answer.status, body: JSON.parse(text) });
        if (killOnNextAnswer && child) {
          killOnNextAnswer = false;
          await kill(child);
        }
        response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
      });
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await new Promise((resolve) => gate?.close(resolve));
    await barometer?.close();
    await jwks?.stop();
    await db?.drop();
  });

  function startScheduler(): ChildProcess {
    const started = spawn('node', ['dist/apps/scheduler/src/main.js'], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        NODE_ENV: 'test',
        DATABASE_URL: db.url,
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: db.name,
        SCHEDULER_PORT: '0',
        LOG_LEVEL: 'silent',
        BAROMETER_URL: `http://127.0.0.1:${(gate.address() as AddressInfo).port}`,
        OUTBOX_POLL_MILLISECONDS: '200',
        // The shortest attempt lease (1 s and its margin): what was lost is claimed again soon after.
        WEBHOOK_TIMEOUT_SECONDS: '1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = started;
    return started;
  }

  async function kill(process: ChildProcess): Promise<void> {
    const exited = new Promise((resolve) => process.once('exit', resolve));
    process.kill('SIGKILL');
    await exited;
  }

  const count = (sql: string) =>
    withClient(db.url, async (client) => Number((await client.query(sql)).rows[0].count));

  it('sends the batch again under the same ids, and the barometer stores none of it twice', async () => {
    await withClient(db.url, (client) =>
      client.query(
        `INSERT INTO outbox_event (id, topic, type, data)
         SELECT gen_random_uuid(), 'metric', 'service.active',
                jsonb_build_object('service', 'svc-' || n, 'organisation', 'ORG', 'day', '2027-03-10')
         FROM generate_series(1, 5) AS n`,
      ),
    );
    killOnNextAnswer = true;
    const first = startScheduler();
    await until(
      'the first batch answered and the relay killed',
      () => answers.length === 1 && (first.exitCode !== null || first.signalCode !== null),
    );
    expect(answers[0]).toEqual({ status: 200, body: { received: 5, stored: 5, duplicates: 0 } });
    expect(await count(`SELECT count(*) FROM barometer.event`)).toBe(5);
    // The relay died before recording it: the outbox still holds the five as pending.
    expect(
      await count(`SELECT count(*) FROM outbox_event WHERE topic = 'metric' AND status = 'pending'`),
    ).toBe(5);

    startScheduler();
    await until(
      'the five marked delivered',
      async () =>
        (await count(`SELECT count(*) FROM outbox_event WHERE topic = 'metric' AND status = 'delivered'`)) ===
        5,
      90_000,
    );
    expect(answers.slice(1)).toEqual([{ status: 200, body: { received: 5, stored: 0, duplicates: 5 } }]);
    expect(await count(`SELECT count(*) FROM barometer.event`)).toBe(5);
  }, 150_000);
});
