import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { runCli } from '../apps/cli/src/commands.js';
import { domainContext } from '../apps/cli/src/domain-context.js';
import { type RunningApp, startApp } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The apps' lock_timeout here: long enough to look at a saturated pool, short enough for the test. */
const LOCK_TIMEOUT_MS = 4000;

/** What a client saw: a status, or `hung` when no answer came within the request's deadline. */
interface Seen {
  app: string;
  status: number | 'hung';
  type?: string;
  retryAfter?: string;
  code?: string;
}

describe('Faults: a lost database answers 503, health does not hang', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let postgres: TcpProxy;
  let redis: TcpProxy;
  let vault: RunningVault;
  let broker: RunningBroker;
  let scheduler: RunningApp;
  let citizen: { Authorization: string };
  let service: { Authorization: string };
  let ppid: string;

  beforeAll(async () => {
    db = await createTestDatabase('faults');
    idp = await new TestIdentityProvider().start();
    // The apps reach PostgreSQL and Redis through proxies this test controls; the shared servers stay untouched.
    postgres = await TcpProxy.to(db.url).start();
    redis = await TcpProxy.to(REDIS_URL).start();
    const env = {
      DATABASE_URL: postgres.url(db.url),
      REDIS_URL: redis.url(REDIS_URL),
      DATABASE_POOL_SIZE: '3',
      DATABASE_ACQUIRE_TIMEOUT_MILLISECONDS: '1000',
      DATABASE_LOCK_TIMEOUT_MILLISECONDS: String(LOCK_TIMEOUT_MS),
      DATABASE_STATEMENT_TIMEOUT_MILLISECONDS: '5000',
    };
    vault = await startVault('faults', { db, idp, env });
    broker = await startBroker(db, idp, env);
    scheduler = await startApp(SchedulerAppModule.forRoot(testEnv(db, idp, env)));

    citizen = await vault.auth('faye');
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(citizen)
      .send({ value: 'faye@exemple.ca' })
      .expect(200);
    service = await broker.service('saaq-permis').auth();
    const created = await broker.http
      .post('/v1/consent-requests')
      .set(service)
      .send({ purpose: 'licence-renewal', attributes: ['contact.email'], mode: 'ongoing' })
      .expect(201);
    await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(citizen).expect(200);
    ppid = (await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(service).expect(200)).body
      .citizen.ppid;
  });

  afterAll(async () => {
    redis?.resume();
    await postgres?.restore();
    await scheduler?.close();
    await broker?.close();
    await vault?.close();
    await postgres?.stop();
    await redis?.stop();
    await idp?.stop();
    await db?.drop();
  });

  const seen = (app: string, response: Response): Seen => ({
    app,
    status: response.status,
    type: response.headers['content-type'],
    retryAfter: response.headers['retry-after'],
    code: response.body?.code,
  });
  const readProfile = () => vault.http.get('/v1/me').set(citizen).timeout(15_000);
  const requestData = () =>
    broker.http
      .post('/v1/data-requests')
      .set(service)
      .send({ citizen: { ppid }, purpose: 'licence-renewal', attributes: ['contact.email'] })
      .timeout(15_000);
  const ask = async (app: 'vault' | 'broker'): Promise<Seen> => {
    try {
      return seen(app, await (app === 'vault' ? readProfile() : requestData()));
    } catch (error) {
      if ((error as { timeout?: number }).timeout) return { app, status: 'hung' };
      throw error;
    }
  };

  /** Clients asking the vault and the broker without pause until `until` settles. */
  async function underLoad(until: Promise<void>): Promise<Seen[]> {
    const answers: Seen[] = [];
    let done = false;
    const client = async (app: 'vault' | 'broker') => {
      while (!done) answers.push(await ask(app));
    };
    const clients = [client('vault'), client('vault'), client('broker'), client('broker')];
    await until;
    done = true;
    await Promise.all(clients);
    return answers;
  }

  /** The app's own backends of this test's database, ended as an operator or a failover would. */
  const terminateBackends = () =>
    withClient(db.url, (client) =>
      client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [db.name],
      ),
    );

  async function expectRecovered(app: 'vault' | 'broker'): Promise<void> {
    // The first request after the database is back may still meet a connection that died meanwhile.
    let last: Seen | undefined;
    for (let attempt = 0; attempt < 50 && last?.status !== 200; attempt++) {
      if (attempt > 0) await sleep(100);
      last = await ask(app);
    }
    expect(last).toMatchObject({ app, status: 200 });
    for (let i = 0; i < 5; i++) expect(await ask(app)).toMatchObject({ app, status: 200 });
  }

  const only2xxOr503 = (answers: Seen[]) => {
    for (const answer of answers) {
      if (answer.status !== 503) {
        expect(answer).toMatchObject({ status: expect.any(Number) });
        expect([answer.app, Math.floor(Number(answer.status) / 100)]).toEqual([answer.app, 2]);
      } else {
        expect(answer).toMatchObject({
          type: expect.stringMatching(/^application\/problem\+json/),
          retryAfter: '5',
          code: 'service_unavailable',
        });
      }
    }
  };

  it('answers only 2xx or 503 problem+json while the apps’ database connections are terminated under load', async () => {
    const answers = await underLoad(
      (async () => {
        for (let i = 0; i < 10; i++) {
          await sleep(250);
          await terminateBackends();
        }
      })(),
    );
    expect(answers.filter((a) => a.status === 'hung')).toEqual([]);
    only2xxOr503(answers);
    for (const app of ['vault', 'broker']) {
      expect(answers.some((a) => a.app === app && a.status === 200)).toBe(true);
    }
    await expectRecovered('vault');
    await expectRecovered('broker');
  });

  it('answers 503 while the database refuses connections, and recovers by itself when it is back', async () => {
    const answers = await underLoad(
      (async () => {
        await sleep(300);
        await postgres.cut(); // every open connection dropped, every new one refused
        await sleep(2000);
        await postgres.restore();
        await sleep(300);
      })(),
    );
    expect(answers.filter((a) => a.status === 'hung')).toEqual([]);
    only2xxOr503(answers);
    for (const app of ['vault', 'broker']) {
      expect(answers.some((a) => a.app === app && a.status === 503)).toBe(true);
    }
    await expectRecovered('vault');
    await expectRecovered('broker');
    await vault.http.get('/health').expect(200);
    await broker.http.get('/health').expect(200);

    // Nothing half-written: every access-log chain still verifies.
    const lines: string[] = [];
    const code = await runCli(['audit:verify'], testEnv(db, idp), {
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect([code, lines.join('\n')]).toEqual([0, expect.stringMatching(/^OK: /)]);
  });

  it('answers 503 when no pooled connection comes free in time, then serves again', async () => {
    await withClient(db.url, async (locker) => {
      // Every query on citizens waits behind this lock, holding its pooled connection (3 of them).
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE citizen IN ACCESS EXCLUSIVE MODE');
      const settled: Seen[] = [];
      const pending = Array.from({ length: 5 }, () => ask('vault').then((s) => void settled.push(s)));
      for (let i = 0; i < 100 && settled.length < 2; i++) await sleep(100);
      await locker.query('COMMIT');
      await Promise.all(pending);
      only2xxOr503(settled);
      expect(settled.filter((s) => s.status === 503).length).toBeGreaterThanOrEqual(2);
      expect(settled.filter((s) => s.status === 'hung')).toEqual([]);
    });
    await expectRecovered('vault');
  });

  it('gives the apps’ connections a statement and a lock timeout, and the CLI’s maintenance none', async () => {
    for (const app of [vault, broker, scheduler]) {
      const [statement] = await app.dataSource.query('SHOW statement_timeout');
      const [lock] = await app.dataSource.query('SHOW lock_timeout');
      expect([statement.statement_timeout, lock.lock_timeout]).toEqual(['5s', '4s']);
    }
    const cli = await domainContext(
      testEnv(db, idp, {
        DATABASE_STATEMENT_TIMEOUT_MILLISECONDS: '5000',
        DATABASE_LOCK_TIMEOUT_MILLISECONDS: '4000',
      }),
    );
    try {
      const dataSource = cli.get(DataSource);
      const [statement] = await dataSource.query('SHOW statement_timeout');
      const [lock] = await dataSource.query('SHOW lock_timeout');
      expect([statement.statement_timeout, lock.lock_timeout]).toEqual(['0', '0']);
    } finally {
      await cli.close();
    }
  });

  /** Runs `work` while this test holds an exclusive lock on the citizen table; `held` says whether it still does. */
  async function withCitizensLocked<T>(work: (held: () => Promise<boolean>) => Promise<T>): Promise<T> {
    return withClient(db.url, async (locker) => {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE citizen IN ACCESS EXCLUSIVE MODE');
      const held = async () => {
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_locks
            WHERE relation = 'citizen'::regclass AND mode = 'AccessExclusiveLock' AND granted AND pid = pg_backend_pid()`,
        );
        return rows[0].n === 1;
      };
      try {
        return await work(held);
      } finally {
        await locker.query('COMMIT');
      }
    });
  }

  /** How many of the apps' statements are waiting for a lock right now. */
  const waitingOnLocks = () =>
    withClient(db.url, async (client) => {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'une-fois' AND wait_event_type = 'Lock'`,
        [db.name],
      );
      return rows[0].n as number;
    });

  it('answers 503 problem+json with Retry-After to a request blocked on a lock, while the lock is still held', async () => {
    await withCitizensLocked(async (held) => {
      const answers = await Promise.all([ask('vault'), ask('broker')]);
      // The answers came from the lock timeout, not from the lock's release.
      expect(await held()).toBe(true);
      expect(answers).toEqual([
        expect.objectContaining({ app: 'vault', status: 503 }),
        expect.objectContaining({ app: 'broker', status: 503 }),
      ]);
      only2xxOr503(answers);
    });
    await expectRecovered('vault');
    await expectRecovered('broker');
  });

  it('stays ready while every pooled connection is busy: /health pings on a connection of its own', async () => {
    await withCitizensLocked(async (held) => {
      // The vault's 3 pooled connections wait behind the lock; a fourth request finds none free.
      const blocked = Array.from({ length: 3 }, () => ask('vault'));
      for (let i = 0; i < 100 && (await waitingOnLocks()) < 3; i++) await sleep(50);
      expect(await waitingOnLocks()).toBe(3);
      const [health, starved] = await Promise.all([vault.http.get('/health').timeout(5000), ask('vault')]);
      expect(await held()).toBe(true);
      expect(starved).toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(health.status).toBe(200);
      expect(health.body.info.database).toEqual({ status: 'up' });
      only2xxOr503(await Promise.all(blocked));
    });
    await expectRecovered('vault');
  });

  it('answers /health within a second with the database stalled, then up again when it answers', async () => {
    postgres.stall(); // PostgreSQL accepts and never answers, on open and new connections alike
    try {
      const started = Date.now();
      const response = await vault.http.get('/health').timeout(5000);
      const elapsed = Date.now() - started;
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.detail).toBe('Not ready: database down.');
      expect(elapsed).toBeLessThan(1000);
    } finally {
      postgres.resume();
    }
    await vault.http.get('/health').expect(200);
    await expectRecovered('vault');
  });

  it('answers /health within a second with Redis stalled: degraded for the vault and the broker, down for the scheduler', async () => {
    const health = async (app: RunningApp) => {
      const started = Date.now();
      const response = await app.http.get('/health').timeout(5000);
      return { response, elapsed: Date.now() - started };
    };
    expect((await health(vault)).response.body.info.redis.status).toBe('up');

    redis.stall(); // Redis accepts and never answers, on open and new connections alike
    try {
      const [v, b, s] = await Promise.all([health(vault), health(broker), health(scheduler)]);
      for (const { response, elapsed } of [v, b]) {
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({
          status: 'degraded',
          info: { database: { status: 'up' }, redis: { status: 'degraded' } },
        });
        expect(elapsed).toBeLessThan(1000);
      }
      expect(s.response.status).toBe(503);
      expect(s.response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(s.response.body.detail).toBe('Not ready: redis down.');
      expect(s.elapsed).toBeLessThan(1000);
    } finally {
      redis.resume();
    }

    for (const app of [vault, broker, scheduler]) {
      const response = await app.http.get('/health').expect(200);
      expect(response.body).toMatchObject({ status: 'ok', info: { redis: { status: 'up' } } });
    }
  });
});
