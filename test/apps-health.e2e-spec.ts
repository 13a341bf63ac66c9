import { randomUUID } from 'node:crypto';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { BarometerAppModule } from '../apps/barometer/src/barometer-app.module.js';
import { BrokerAppModule } from '../apps/broker/src/broker-app.module.js';
import { PortalAppModule } from '../apps/portal/src/portal-app.module.js';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { VaultAppModule } from '../apps/vault/src/vault-app.module.js';
import { ConfigModule } from '#libs/config';
import { createHttpApp, HttpPlatformModule } from '#libs/http';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { promtoolCheck } from './support/promtool.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { testEnv } from './support/vault-app.js';

const APPS: [string, (env: Record<string, string>) => DynamicModule][] = [
  ['vault', (env) => VaultAppModule.forRoot(env)],
  ['broker', (env) => BrokerAppModule.forRoot(env)],
  ['scheduler', (env) => SchedulerAppModule.forRoot(env)],
  ['barometer', (env) => BarometerAppModule.forRoot(env)],
  ['portal', (env) => PortalAppModule.forRoot(env)],
];

describe('Every app', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  beforeAll(async () => {
    db = await createTestDatabase('health');
    idp = await new TestIdentityProvider().start();
  });
  afterAll(async () => {
    await idp.stop();
    await db.drop();
  });

  async function boot(
    factory: (env: Record<string, string>) => DynamicModule,
    extra: Record<string, string> = {},
  ) {
    const app = await createHttpApp(factory(testEnv(db, idp, extra)), { title: 'test', description: 'test' });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }

  it.each(APPS)('%s boots and serves /health, /metrics and /openapi.json', async (name, factory) => {
    const app = await boot(factory);
    try {
      const http = request(app.getHttpServer());
      const health = await http.get('/health').expect(200);
      expect(health.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
      // The barometer and the portal do not use Redis, so their readiness does not depend on it.
      expect(health.body.info.redis).toEqual(
        ['barometer', 'portal'].includes(name) ? undefined : { status: 'up' },
      );
      const metrics = await http.get('/metrics').expect(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.text).toContain('process_cpu_seconds_total');
      const openapi = await http.get('/openapi.json').expect(200);
      expect(openapi.body.openapi).toMatch(/^3\./);
    } finally {
      await app.close();
    }
  });

  it.each(APPS)(
    '%s serves /metrics that pass promtool check metrics, labelled by route pattern, never by path or query',
    async (name, factory) => {
      const app = await boot(factory);
      try {
        const http = request(app.getHttpServer());
        const id = randomUUID();
        const secret = randomUUID();
        await http.get(`/v1/nowhere/${id}?token=${secret}`).expect(404);
        // A route with a parameter, where the app has one: the broker's deadlines.
        if (name === 'broker')
          await http.patch(`/v1/deadlines/${id}?token=${secret}`).send({ status: 'completed' }).expect(401);
        const metrics = await http.get('/metrics').expect(200);
        expect(await promtoolCheck(metrics.text)).toEqual({ code: 0, output: '' });
        // The portal answers any other address with a page of its own: its catch-all route.
        const unmatched = name === 'portal' ? '/\\*' : 'unmatched';
        expect(metrics.text).toMatch(
          new RegExp(`^http_request_duration_seconds_count\\{[^}]*route="${unmatched}"[^}]*\\} 1$`, 'm'),
        );
        if (name === 'broker') expect(metrics.text).toMatch(/route="\/v1\/deadlines\/:id",status="401"/);
        expect(metrics.text).not.toContain(id);
        expect(metrics.text).not.toContain(secret);
        if (name === 'scheduler') {
          expect(metrics.text).toMatch(/^queue_jobs\{queue="\{reminders\}",state="waiting"\} 0$/m);
          expect(metrics.text).toMatch(/^# TYPE queue_job_failures_total counter$/m);
          expect(metrics.text).toMatch(/^outbox_lag_seconds\{topic="metric"\} \d/m);
        }
        if (name === 'barometer') {
          expect(metrics.text).toMatch(/^indicator_target\{indicator="I3"\} 0.6$/m);
          expect(metrics.text).toMatch(/^# TYPE indicator_value gauge$/m);
          expect(metrics.text).toMatch(/^# TYPE metric_events_received_total counter$/m);
        }
      } finally {
        await app.close();
      }
    },
  );

  it("answers the scheduler's scrape while Redis does not answer, without the queues' depths, and with them once it does", async () => {
    const proxy = await TcpProxy.to(testEnv(db, idp).REDIS_URL).start();
    const app = await boot(SchedulerAppModule.forRoot, { REDIS_URL: proxy.url(testEnv(db, idp).REDIS_URL) });
    try {
      const http = request(app.getHttpServer());
      expect((await http.get('/metrics').expect(200)).text).toMatch(/^queue_jobs\{/m);
      proxy.stall();
      const started = Date.now();
      const stalled = await http.get('/metrics').expect(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(stalled.text).not.toMatch(/^queue_jobs\{/m);
      expect(stalled.text).toMatch(/^outbox_lag_seconds\{/m);
      expect(await promtoolCheck(stalled.text)).toEqual({ code: 0, output: '' });
      proxy.resume();
      expect((await http.get('/metrics').expect(200)).text).toMatch(/^queue_jobs\{/m);
    } finally {
      proxy.resume();
      await app.close();
      await proxy.stop();
    }
  });

  it('reports Redis degraded, and stays ready, when the broker cannot reach it (it serves without)', async () => {
    const app = await boot(BrokerAppModule.forRoot, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const health = await request(app.getHttpServer()).get('/health').expect(200);
      expect(health.body).toMatchObject({
        status: 'degraded',
        info: { database: { status: 'up' }, redis: { status: 'degraded' } },
      });
      expect(health.body.info.redis.message).toMatch(/ECONNREFUSED/);
    } finally {
      await app.close();
    }
  });

  it('refuses to boot an app that imports the HTTP platform without saying what Redis is to it', async () => {
    class BareApp {}
    const booting = NestFactory.create(
      {
        module: BareApp,
        imports: [ConfigModule.forRoot(testEnv(db, idp)), HttpPlatformModule],
      },
      new FastifyAdapter(),
      { abortOnError: false, logger: false },
    );
    await expect(booting).rejects.toThrow(/REDIS_USE/);
  });

  it('keeps the barometer ready when Redis cannot be reached (it does not use it)', async () => {
    const app = await boot(BarometerAppModule.forRoot, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const health = await request(app.getHttpServer()).get('/health').expect(200);
      expect(health.body.status).toBe('ok');
      expect(Object.keys(health.body.info)).toEqual(['database']);
    } finally {
      await app.close();
    }
  });

  it('reports 503 when the database cannot be reached, and up again when it is back', async () => {
    // The barometer reaches PostgreSQL through a proxy this test cuts; the shared server stays untouched.
    const proxy = await TcpProxy.to(db.url).start();
    const app = await boot(BarometerAppModule.forRoot, { DATABASE_URL: proxy.url(db.url) });
    try {
      const http = request(app.getHttpServer());
      await http.get('/health').expect(200);
      await proxy.cut();
      const response = await http.get('/health').expect(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.body.detail).toBe('Not ready: database down.');
      await proxy.restore();
      await http.get('/health').expect(200);
    } finally {
      await app.close();
      await proxy.stop();
    }
  });
});
