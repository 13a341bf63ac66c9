import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { configureHttpApp } from '#libs/http';
import { VaultAppModule } from '../../apps/vault/src/vault-app.module.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { TestIdentityProvider } from './identity-provider.js';

export interface RunningVault {
  app: INestApplication;
  http: TestAgent;
  url: string;
  db: TestDatabase;
  dataSource: DataSource;
  idp: TestIdentityProvider;
  env: Record<string, string>;
  /** A bearer header for a citizen of the test identity provider. */
  auth(subject: string): Promise<{ Authorization: string }>;
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

/** Boots the vault as `npm run start:vault` does, on a database of its own, on a free loopback port. */
export async function startVault(
  label: string,
  options: { db?: TestDatabase; idp?: TestIdentityProvider; env?: Record<string, string> } = {},
): Promise<RunningVault> {
  const db = options.db ?? (await createTestDatabase(label));
  const idp = options.idp ?? (await new TestIdentityProvider().start());
  const env = testEnv(db, idp, options.env);
  const app = await NestFactory.create(VaultAppModule.forRoot(env), { bodyParser: false, bufferLogs: true });
  configureHttpApp(app, { title: 'vault', description: 'test' });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    http: request(app.getHttpServer()),
    url: `http://127.0.0.1:${port}`,
    db,
    dataSource: app.get(DataSource),
    idp,
    env,
    auth: async (subject) => ({ Authorization: `Bearer ${await idp.token({ subject })}` }),
    close: async () => {
      await app.close();
      if (!options.idp) await idp.stop();
      if (!options.db) await db.drop();
    },
  };
}
