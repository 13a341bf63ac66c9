import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { BrokerAppModule } from '../apps/broker/src/broker-app.module.js';
import { runCli } from '../apps/cli/src/commands.js';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { VaultAppModule } from '../apps/vault/src/vault-app.module.js';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { type RunningApp, startApp, testEnv } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';

const BROKER_URL = 'http://broker.test';

function privateJwkJson(kid: string): { json: string; d: string } {
  const jwk = { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid };
  return { json: JSON.stringify([jwk]), d: jwk.d! };
}

async function cli(args: string[], env: Record<string, string | undefined>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let db: TestDatabase;
let idp: TestIdentityProvider;
beforeAll(async () => {
  db = await createTestDatabase('proddefaults');
  idp = await new TestIdentityProvider().start();
});
afterAll(async () => {
  await idp.stop();
  await db.drop();
});

describe('An unset NODE_ENV', () => {
  /** What a deployment that forgot everything but its database passes. */
  const forgotten = () => ({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379' });
  const PRODUCTION_VARIABLES = [
    'MASTER_KEYS',
    'PAIRWISE_SECRET',
    'SIGNING_KEYS',
    'CITIZEN_ISSUER',
    'CITIZEN_JWKS_URI',
    'BROKER_URL',
    'VAULT_URL',
  ];

  it.each([
    ['vault', () => VaultAppModule.forRoot(forgotten()), PRODUCTION_VARIABLES],
    ['scheduler', () => SchedulerAppModule.forRoot(forgotten()), PRODUCTION_VARIABLES],
    [
      'broker',
      () => BrokerAppModule.forRoot(forgotten()),
      [...PRODUCTION_VARIABLES, 'ACCESS_TOKEN_SIGNING_KEYS'],
    ],
  ])(
    'stops the %s from booting on development secrets, naming each missing variable',
    (_app, boot, names) => {
      let message = '';
      try {
        boot();
      } catch (error) {
        message = (error as Error).message;
      }
      for (const name of names) expect(message).toContain(`${name}: required when NODE_ENV=production`);
      expect(message).toContain('NODE_ENV: unset, which means production');
    },
  );

  it('stops the CLI too', async () => {
    const result = await cli(['migration:run'], forgotten());
    expect(result.code).toBe(1);
    for (const name of PRODUCTION_VARIABLES)
      expect(result.err).toContain(`${name}: required when NODE_ENV=production`);
    expect(result.err).not.toContain('ACCESS_TOKEN_SIGNING_KEYS');
  });
});

describe('Keys by role', () => {
  // One environment for every process, as a careless deployment would share it.
  const platform = privateJwkJson('platform-1');
  const tokens = privateJwkJson('access-tokens-1');
  const shared = () =>
    testEnv(db, idp, {
      BROKER_URL,
      SIGNING_KEYS: platform.json,
      ACCESS_TOKEN_SIGNING_KEYS: tokens.json,
    });
  let broker: RunningBroker;
  let vault: RunningApp;
  let scheduler: RunningApp;
  beforeAll(async () => {
    broker = await startBroker(db, idp, shared());
    vault = await startApp(VaultAppModule.forRoot(shared()));
    scheduler = await startApp(SchedulerAppModule.forRoot(shared()));
  });
  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await broker?.close();
  });

  /** An access token exactly as the broker issues them, but signed by `signer`. */
  async function tokenSignedBy(signer: PlatformSigner): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return signer.signJson(
      {
        iss: BROKER_URL,
        aud: BROKER_URL,
        sub: 'saaq-permis',
        client_id: 'saaq-permis',
        org: 'SAAQ',
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
      },
      'at+jwt',
    );
  }

  it('gives the access-token key to the broker alone, apart from the output key', () => {
    const brokerConfig = broker.app.get(AppConfig);
    expect(brokerConfig.accessTokenKeys).toEqual([expect.objectContaining({ kid: 'access-tokens-1' })]);
    expect(brokerConfig.signingKeys).toEqual([expect.objectContaining({ kid: 'platform-1' })]);
    for (const app of [vault, scheduler]) {
      const config = app.app.get(AppConfig);
      expect(config.accessTokenKeys).toBeNull();
      expect(JSON.stringify(config)).not.toContain(tokens.d);
      expect(JSON.stringify(config)).toContain(platform.d);
    }
  });

  it('refuses an access token signed with what the vault or the scheduler holds', async () => {
    const probe = `/v1/consent-requests/${randomUUID()}`;
    // The same request with a token the broker issued reaches the route (404: no such request).
    await broker.http
      .get(probe)
      .set(await broker.service('saaq-permis').auth())
      .expect(404);
    for (const app of [vault, scheduler]) {
      const forged = await tokenSignedBy(app.app.get(PlatformSigner));
      const response = await broker.http.get(probe).set('Authorization', `Bearer ${forged}`);
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'unauthenticated' });
    }
  });

  it('publishes the output key, not the access-token key', async () => {
    const { body } = await broker.http.get('/.well-known/jwks.json').expect(200);
    expect(body.keys.map((key: { kid: string }) => key.kid)).toEqual(['platform-1']);
  });
});
