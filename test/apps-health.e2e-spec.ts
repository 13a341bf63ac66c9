import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { BarometerAppModule } from '../apps/barometer/src/barometer-app.module.js';
import { BrokerAppModule } from '../apps/broker/src/broker-app.module.js';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { VaultAppModule } from '../apps/vault/src/vault-app.module.js';
import { configureHttpApp } from '#libs/http';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { testEnv } from './support/vault-app.js';

const APPS: [string, (env: Record<string, string>) => DynamicModule][] = [
  ['vault', (env) => VaultAppModule.forRoot(env)],
  ['broker', (env) => BrokerAppModule.forRoot(env)],
  ['scheduler', (env) => SchedulerAppModule.forRoot(env)],
  ['barometer', (env) => BarometerAppModule.forRoot(env)],
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
    const app = await NestFactory.create(factory(testEnv(db, idp, extra)), {
      bodyParser: false,
      bufferLogs: true,
    });
    configureHttpApp(app, { title: 'test', description: 'test' });
    await app.init();
    return app;
  }

  it.each(APPS)('%s boots and serves /health, /metrics and /openapi.json', async (_name, factory) => {
    const app = await boot(factory);
    try {
      const http = request(app.getHttpServer());
      const health = await http.get('/health').expect(200);
      expect(health.body).toMatchObject({
        status: 'ok',
        info: { database: { status: 'up' }, redis: { status: 'up' } },
      });
      const metrics = await http.get('/metrics').expect(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.text).toContain('process_cpu_seconds_total');
      const openapi = await http.get('/openapi.json').expect(200);
      expect(openapi.body.openapi).toMatch(/^3\./);
    } finally {
      await app.close();
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

  it('reports 503 when the database cannot be reached', async () => {
    const app = await boot(BarometerAppModule.forRoot);
    try {
      const health = request(app.getHttpServer()).get('/health');
      // The barometer's own pool is cut off: its connections are ended and no new one is allowed in.
      await app.get(DataSource).destroy();
      const response = await health.expect(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.body.detail).toBe('Not ready: database down.');
    } finally {
      await app.close();
    }
  });
});
