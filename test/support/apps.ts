import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { configureHttpApp } from '#libs/http';
import type { TestDatabase } from './database.js';
import type { TestIdentityProvider } from './identity-provider.js';

export interface RunningApp {
  app: INestApplication;
  http: TestAgent;
  url: string;
  dataSource: DataSource;
  close(): Promise<void>;
}

export function testEnv(db: TestDatabase, idp: TestIdentityProvider, extra: Record<string, string> = {}) {
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

/** Boots an app as its main.ts does, on a free loopback port. */
export async function startApp(module: DynamicModule): Promise<RunningApp> {
  const app = await NestFactory.create(module, { bodyParser: false, bufferLogs: true });
  configureHttpApp(app, { title: 'test', description: 'test' });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    http: request(app.getHttpServer()),
    url: `http://127.0.0.1:${port}`,
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}
