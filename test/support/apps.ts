import type { DynamicModule, INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { createHttpApp, type HttpAppOptions } from '#libs/http';
import type { TestDatabase } from './database.js';

export interface RunningApp {
  app: INestApplication;
  http: TestAgent;
  url: string;
  dataSource: DataSource;
  close(): Promise<void>;
}

/** What the apps need to know of the citizen issuer: a TestIdentityProvider, or the development OpenID provider. */
export interface CitizenIssuer {
  issuer: string;
  jwksUri: string;
  audience: string;
}

export function testEnv(db: TestDatabase, idp: CitizenIssuer, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: db.name,
    CITIZEN_ISSUER: idp.issuer,
    CITIZEN_JWKS_URI: idp.jwksUri,
    CITIZEN_AUDIENCE: idp.audience,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...extra,
  };
}

/** Boots an app as its main.ts does, on a free loopback port (or the one given). */
export async function startApp(
  module: DynamicModule,
  options: { port?: number; setup?: HttpAppOptions['setup'] } = {},
): Promise<RunningApp> {
  const app = await createHttpApp(module, { title: 'test', description: 'test', setup: options.setup });
  await app.listen(options.port ?? 0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    http: request(app.getHttpServer()),
    url: `http://127.0.0.1:${port}`,
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}
