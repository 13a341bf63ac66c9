import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { JWK } from 'jose';
import { BarometerAppModule } from '../apps/barometer/src/barometer-app.module.js';
import { BrokerAppModule } from '../apps/broker/src/broker-app.module.js';
import { runCli } from '../apps/cli/src/commands.js';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { VaultAppModule } from '../apps/vault/src/vault-app.module.js';
import { RegistryService } from '#libs/catalogue';
import { EmailChannel, TransientChannelError } from '#libs/channels';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { type RunningApp, startApp, testEnv } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { MailCatcher } from './support/mail-catcher.js';
import { TestService } from './support/services.js';

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

/** The demo registry with every service's key replaced by a fresh public key: a deployment's own registry. */
function registryFile(transform: (text: string) => string = (text) => text): string {
  const file = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.yaml');
  writeFileSync(file, transform(readFileSync('config/registry.yaml', 'utf8')));
  return file;
}
/** The private halves of the keys withOwnKeys made, by kid. */
const ownPrivateKeys = new Map<string, JWK & { kid: string }>();
const withOwnKeys = (text: string) =>
  text.replace(/jwks: \{ keys: \[.*\] \}/g, () => {
    const privateJwk = {
      ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
      kid: randomUUID(),
      alg: 'ES256',
    };
    ownPrivateKeys.set(privateJwk.kid, privateJwk as JWK & { kid: string });
    const { d: _d, ...publicJwk } = privateJwk;
    return `jwks: { keys: [${JSON.stringify(publicJwk)}] }`;
  });

async function registryVersions(url: string): Promise<{ version: number; applied_by: string | null }[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query(`SELECT version, applied_by FROM registry_version ORDER BY version`);
    return rows;
  });
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

/** A production environment with every secret a deployment gives, made for this run. */
const production = () => ({
  NODE_ENV: 'production',
  DATABASE_URL: db.url,
  REDIS_URL: 'redis://127.0.0.1:6379',
  REDIS_PREFIX: db.name,
  MASTER_KEYS: `main:1:${randomBytes(32).toString('base64')}`,
  PAIRWISE_SECRET: randomBytes(32).toString('hex'),
  SIGNING_KEYS: privateJwkJson('platform-1').json,
  CITIZEN_ISSUER: idp.issuer,
  CITIZEN_JWKS_URI: idp.jwksUri,
  CITIZEN_AUDIENCE: idp.audience,
  VAULT_URL: 'https://coffre.example',
  BROKER_URL: 'https://courtier.example',
  LOG_LEVEL: 'silent',
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
    [
      'scheduler',
      () => SchedulerAppModule.forRoot(forgotten()),
      [...PRODUCTION_VARIABLES, 'SMTP_URL', 'MAIL_FROM', 'BAROMETER_URL'],
    ],
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
  const platform = privateJwkJson('platform-1');
  const tokens = privateJwkJson('access-tokens-1');
  /** What every process is given; only the broker adds its access-token key. */
  const common = () => testEnv(db, idp, { BROKER_URL, SIGNING_KEYS: platform.json });
  // One environment for every process, as a careless deployment would share it.
  const shared = () => ({ ...common(), ACCESS_TOKEN_SIGNING_KEYS: tokens.json });
  const REFUSAL =
    "ACCESS_TOKEN_SIGNING_KEYS: held by the broker only; remove it from this process's environment";
  let broker: RunningBroker;
  let vault: RunningApp;
  let scheduler: RunningApp;
  beforeAll(async () => {
    broker = await startBroker(db, idp, shared());
    vault = await startApp(VaultAppModule.forRoot(common()));
    scheduler = await startApp(SchedulerAppModule.forRoot(common()));
  });
  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await broker?.close();
  });

  it.each([
    ['vault', () => VaultAppModule.forRoot(shared())],
    ['scheduler', () => SchedulerAppModule.forRoot(shared())],
    ['barometer', () => BarometerAppModule.forRoot(shared())],
  ])('stops the %s from booting with the access-token key in its environment', (_app, boot) => {
    expect(boot).toThrow(REFUSAL);
  });

  it.each([
    ['production', { NODE_ENV: 'production' }],
    ['test', {}],
  ])('stops the CLI too, in %s, before it touches the database', async (_mode, mode) => {
    const before = await registryVersions(db.url);
    const result = await cli(['registry:apply', registryFile(withOwnKeys)], { ...shared(), ...mode });
    expect(result.code).toBe(1);
    expect(result.err).toContain(REFUSAL);
    expect(await registryVersions(db.url)).toEqual(before);
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

describe('The demo registry in production', () => {
  it('is refused by registry:apply, naming each demo service and the reason, and nothing is written', async () => {
    const before = await registryVersions(db.url);
    const result = await cli(['registry:apply', 'config/registry.yaml'], production());
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      'service saaq-permis, key 1 (kid saaq-permis-2026): is a demo key, its private half committed under config/demo; production never applies it',
    );
    expect(result.err).toContain('service mess-aide, key 1');
    // The flag a demo passes does not open production.
    const allowed = await cli(['registry:apply', 'config/registry.yaml', '--allow-demo-keys'], production());
    expect(allowed.code).toBe(1);
    expect(allowed.err).toContain('service saaq-permis, key 1 (kid saaq-permis-2026): is a demo key');
    expect(allowed.err).toContain('production never applies it');
    expect(await registryVersions(db.url)).toEqual(before);
  });

  /** The deployment's own registry, but with rq-depot's private key pasted in. */
  const leakingRegistryFile = () => {
    const demoKeys = JSON.parse(readFileSync('config/demo/service-keys.json', 'utf8'));
    return registryFile((text) =>
      withOwnKeys(text).replace(
        /(- id: rq-depot\n(?:.*\n){2} {4}jwks: \{ keys: \[).*(\] \})/,
        (_all, head, tail) => `${head}${JSON.stringify({ ...demoKeys['rq-depot'], kid: 'fuite' })}${tail}`,
      ),
    );
  };

  it('refuses a registry holding a private key, naming the key', async () => {
    const file = leakingRegistryFile();
    const before = await registryVersions(db.url);
    const result = await cli(['registry:apply', file], production());
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /services\.4\.jwks\.keys\.0: must be a public key \(no private or secret part\)/,
    );
    expect(await registryVersions(db.url)).toEqual(before);
  });

  it('stops a production boot told to apply it, or a registry holding a private key, naming the reason', async () => {
    await expect(
      startApp(VaultAppModule.forRoot({ ...production(), APPLY_REGISTRY_AT_BOOT: 'true' })),
    ).rejects.toThrow(/service saaq-permis, key 1 \(kid saaq-permis-2026\): is a demo key/);
    const before = await registryVersions(db.url);
    await expect(
      startApp(
        VaultAppModule.forRoot({
          ...production(),
          APPLY_REGISTRY_AT_BOOT: 'true',
          REGISTRY_FILE: leakingRegistryFile(),
        }),
      ),
    ).rejects.toThrow(/services\.4\.jwks\.keys\.0: must be a public key \(no private or secret part\)/);
    expect(await registryVersions(db.url)).toEqual(before);
  });

  it('never lets a demo key authenticate to a production broker, whichever registry is in force', async () => {
    // The demo registry is in force, as in a deployment that applied it at boot before it was refused.
    const broker = await startBroker(db, idp, {
      ...production(),
      ACCESS_TOKEN_SIGNING_KEYS: privateJwkJson('access-tokens-1').json,
    });
    try {
      const registry = broker.app.get(RegistryService);
      expect(registry.current().service('saaq-permis')?.jwks?.keys).toEqual([
        expect.objectContaining({ kid: 'saaq-permis-2026' }),
      ]);
      const demo = broker.service('saaq-permis');
      const refused = await demo.tokenRequest(await demo.assertion());
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({
        error: 'invalid_client',
        error_description:
          'The client assertion is signed with a demo key (config/demo), which production never accepts.',
      });

      // The deployment applies its own registry: its own key authenticates.
      expect((await cli(['registry:apply', registryFile(withOwnKeys)], production())).code).toBe(0);
      await registry.reload();
      const kid = String(registry.current().service('saaq-permis')?.jwks?.keys[0].kid);
      const own = new TestService('saaq-permis', broker, ownPrivateKeys.get(kid));
      expect((await own.tokenRequest(await own.assertion())).status).toBe(200);
    } finally {
      await broker.close();
    }
  });

  it('applies a registry of the deployment’s own public keys, and a production boot does not apply the file', async () => {
    const result = await cli(['registry:apply', registryFile(withOwnKeys)], production());
    expect(result).toMatchObject({ code: 0, out: expect.stringMatching(/^Applied as registry version/) });
    const versions = await registryVersions(db.url);
    expect(versions.at(-1)).toMatchObject({ applied_by: 'cli' });

    // REGISTRY_FILE is still the demo registry: a production boot leaves it alone by default.
    const vault = await startApp(VaultAppModule.forRoot(production()));
    try {
      expect(await registryVersions(db.url)).toEqual(versions);
      expect(vault.app.get(RegistryService).current().version).toBe(versions.at(-1)!.version);
    } finally {
      await vault.close();
    }
  });
});

describe('A registry applied by the CLI', () => {
  let own: TestDatabase;
  beforeAll(async () => {
    own = await createTestDatabase('cliregistry');
  });
  afterAll(() => own.drop());

  it('survives a restart of the apps that apply the registry file at boot', async () => {
    const env = testEnv(own, idp, { BROKER_URL });
    // First boot: the file is applied.
    const first = await startBroker(own, idp, env);
    await first.service('saaq-permis').auth();
    await first.close();
    expect(await registryVersions(own.url)).toEqual([{ version: 1, applied_by: 'boot' }]);

    // An operator revokes saaq-permis's key (here: replaces every key) with the CLI.
    const applied = await cli(['registry:apply', registryFile(withOwnKeys)], env);
    expect(applied.code).toBe(0);
    expect(await registryVersions(own.url)).toEqual([
      { version: 1, applied_by: 'boot' },
      { version: 2, applied_by: 'cli' },
    ]);

    // The restart applies REGISTRY_FILE (still the old keys) at boot: it says so and leaves version 2.
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const restarted = await startBroker(own, idp, env);
    try {
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^registry version 2, applied by the CLI at .*, is newer than config\/registry\.yaml: left in force/,
        ),
      );
      expect(await registryVersions(own.url)).toHaveLength(2);
      expect(restarted.app.get(RegistryService).current().version).toBe(2);
      const service = restarted.service('saaq-permis');
      const refused = await service.tokenRequest(await service.assertion());
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: 'invalid_client' });
    } finally {
      warn.mockRestore();
      await restarted.close();
    }
  });
});

describe('A production scheduler’s mail and SMS', () => {
  const scheduler = (extra: Record<string, string>) => () =>
    SchedulerAppModule.forRoot({
      ...production(),
      SMTP_URL: 'smtps://mail.example:465',
      BAROMETER_URL: 'https://barometre.example',
      ...extra,
    });

  it('refuses to boot on a .localhost sender or an SMS provider in clear, naming the variable', () => {
    expect(scheduler({ MAIL_FROM: 'Une fois <no-reply@une-fois.localhost>' })).toThrow(
      'MAIL_FROM: a .localhost sender in production',
    );
    expect(
      scheduler({
        MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
        SMS_PROVIDER_URL: 'http://sms.example/send',
        SMS_PROVIDER_KEY: 'sms-key',
      }),
    ).toThrow('SMS_PROVIDER_URL: must be an https:// URL in production');
  });

  it('sends no e-mail in clear: an smtp:// server without STARTTLS gets nothing', async () => {
    const mail = await new MailCatcher().start();
    const config = AppConfig.fromEnvironment(
      {
        ...production(),
        SMTP_URL: mail.url,
        MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
        BAROMETER_URL: 'https://barometre.example',
      },
      { sendsReminders: true },
    );
    const channel = new EmailChannel(config);
    try {
      const error = await channel
        .send(
          {
            reminderId: randomUUID(),
            citizenId: randomUUID(),
            deadlineId: randomUUID(),
            language: 'fr',
            subject: 'Rappel',
            text: 'Bonjour',
            html: '<p>Bonjour</p>',
            sms: 'Bonjour',
            actionUrl: null,
            calendar: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
          },
          { email: 'camille@exemple.ca', phone: null },
        )
        .catch((caught: Error) => caught);
      expect(error).toBeInstanceOf(TransientChannelError);
      expect(mail.messages).toHaveLength(0);
    } finally {
      channel.onModuleDestroy();
      await mail.stop();
    }
  });
});
