import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { AppConfig, devEd25519Jwk } from './app-config.js';
import { ConfigError } from './env.js';

function base64Key(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

function signingKeysJson(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return JSON.stringify([{ ...privateKey.export({ format: 'jwk' }), kid: 'platform-2026' }]);
}

/** Everything production requires, valid; override one variable to test it. */
function productionEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    MASTER_KEYS: `main:1:${base64Key()}`,
    PAIRWISE_SECRET: 'p'.repeat(32),
    SIGNING_KEYS: signingKeysJson(),
    CITIZEN_ISSUER: 'https://auth.quebec.ca',
    CITIZEN_JWKS_URI: 'https://auth.quebec.ca/.well-known/jwks.json',
    BROKER_URL: 'https://courtier.une-fois.gouv.qc.ca',
    VAULT_URL: 'https://coffre.une-fois.gouv.qc.ca',
    ...overrides,
  };
}

const DEVELOPMENT = { NODE_ENV: 'development' };
const BROKER = { issuesAccessTokens: true };

function configProblems(raw: Record<string, string | undefined>, options = {}): string[] {
  try {
    AppConfig.fromEnvironment(raw, options);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(AppConfig.name, () => {
  describe('defaults in development', () => {
    const config = AppConfig.fromEnvironment(DEVELOPMENT);

    it('listens on ports 3001 to 3006', () => {
      expect(config.ports).toEqual({
        vault: 3001,
        broker: 3002,
        barometer: 3003,
        scheduler: 3004,
        portal: 3005,
        idp: 3006,
      });
    });

    it('connects to the local PostgreSQL and Redis', () => {
      expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/unefois');
      expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
      expect(config.redisPrefix).toBe('unefois');
    });

    it('derives the public URLs from the ports', () => {
      expect(config.urls).toEqual({
        vault: 'http://localhost:3001',
        broker: 'http://localhost:3002',
        barometer: 'http://localhost:3003',
        idp: 'http://localhost:3006',
      });
      expect(config.portal).toMatchObject({ url: 'http://localhost:3005', published: false });
    });

    it('uses the built-in dev citizen issuer under the vault URL', () => {
      expect(config.citizenIssuer).toMatchObject({
        issuer: 'http://localhost:3001/dev-issuer',
        audience: 'urn:une-fois:vault',
        jwksUri: null,
      });
      expect(config.citizenIssuer.devIssuerKey).toMatchObject({
        kty: 'OKP',
        crv: 'Ed25519',
        kid: 'dev-citizen-issuer-1',
      });
    });

    it('is not production and applies the registry files at boot, reloading every 30 s', () => {
      expect(config.production).toBe(false);
      expect(config.registryFile).toBe('config/registry.yaml');
      expect(config.catalogueFile).toBe('config/catalogue.yaml');
      expect(config.applyRegistryAtBoot).toBe(true);
      expect(config.registryRefreshMs).toBe(30_000);
      expect(config.bodyLimitBytes).toBe(256 * 1024);
      expect(config.logLevel).toBe('info');
    });

    it('has one 32-byte dev master key, a 32-byte pairwise secret and an Ed25519 signing key', () => {
      expect(config.masterKeys).toEqual([{ id: 'dev', version: 1, key: expect.any(Buffer) }]);
      expect(config.masterKeys[0].key).toHaveLength(32);
      expect(config.pairwiseSecret).toHaveLength(32);
      expect(config.signingKeys).toEqual([
        expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', kid: 'dev-signing-1' }),
      ]);
    });

    it('gives every process the same dev secrets, so they agree without configuration', () => {
      const other = AppConfig.fromEnvironment(DEVELOPMENT);
      expect(other.masterKeys[0].key.equals(config.masterKeys[0].key)).toBe(true);
      expect(other.pairwiseSecret.equals(config.pairwiseSecret)).toBe(true);
      expect(other.signingKeys).toEqual(config.signingKeys);
    });
  });

  it('follows a changed port in the derived URL and issuer', () => {
    const config = AppConfig.fromEnvironment({ ...DEVELOPMENT, VAULT_PORT: '8001', BROKER_PORT: '8002' });
    expect(config.urls.vault).toBe('http://localhost:8001');
    expect(config.urls.broker).toBe('http://localhost:8002');
    expect(config.citizenIssuer.issuer).toBe('http://localhost:8001/dev-issuer');
  });

  it('uses explicit URLs without their trailing slashes', () => {
    const config = AppConfig.fromEnvironment({
      ...DEVELOPMENT,
      VAULT_URL: 'https://vault.example/',
      BROKER_URL: 'https://broker.example//',
    });
    expect(config.urls.vault).toBe('https://vault.example');
    expect(config.urls.broker).toBe('https://broker.example');
    expect(config.citizenIssuer.issuer).toBe('https://vault.example/dev-issuer');
  });

  it('throws a ConfigError naming a bad variable', () => {
    expect(() => AppConfig.fromEnvironment({ VAULT_PORT: 'abc' })).toThrow(ConfigError);
    expect(() => AppConfig.fromEnvironment({ VAULT_PORT: 'abc' })).toThrow(/VAULT_PORT/);
    expect(() => AppConfig.fromEnvironment({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => AppConfig.fromEnvironment({ NODE_ENV: 'prod' })).toThrow(/NODE_ENV/);
  });

  describe('reminders', () => {
    const SCHEDULER = { sendsReminders: true };

    it('sweeps every 15 s with a bounded window of queued reminders by default, and no SMS provider', () => {
      expect(AppConfig.fromEnvironment(DEVELOPMENT).reminders).toEqual({
        sweepMs: 15_000,
        concurrency: 64,
        inFlight: 2000,
        attempts: 6,
        backoffMs: 30_000,
        leaseMs: 120_000,
        sendTimeoutMs: 15_000,
        smtpUrl: null,
        smtpRequireTls: false,
        mailFrom: 'Une fois <no-reply@une-fois.localhost>',
        sms: null,
      });
    });

    it('refuses a production scheduler without SMTP_URL, MAIL_FROM and BAROMETER_URL, naming them; other apps do not need them', () => {
      expect(configProblems(productionEnv(), SCHEDULER)).toEqual([
        'SMTP_URL: required when NODE_ENV=production',
        'MAIL_FROM: required when NODE_ENV=production',
        'BAROMETER_URL: required when NODE_ENV=production',
      ]);
      expect(() => AppConfig.fromEnvironment(productionEnv())).not.toThrow();
      const settings = {
        SMTP_URL: 'smtp://mail:25',
        MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
        BAROMETER_URL: 'https://barometre.quebec/',
      };
      const config = AppConfig.fromEnvironment(productionEnv(settings), SCHEDULER);
      expect(config.reminders.smtpUrl).toBe('smtp://mail:25');
      expect(config.reminders.mailFrom).toBe('Une fois <rappels@une-fois.quebec>');
      expect(config.urls.barometer).toBe('https://barometre.quebec');
      expect(
        configProblems(productionEnv({ ...settings, BAROMETER_URL: 'http://barometre:3003' }), SCHEDULER),
      ).toEqual(['BAROMETER_URL: must be an https:// URL in production']);
    });

    it('fails closed on a production scheduler’s mail and SMS settings: no .localhost sender, TLS only', () => {
      const mail = {
        SMTP_URL: 'smtp://mail:587',
        MAIL_FROM: 'Une fois <no-reply@une-fois.localhost>',
        BAROMETER_URL: 'https://barometre.quebec',
      };
      expect(
        configProblems(
          productionEnv({ ...mail, SMS_PROVIDER_URL: 'http://sms:8080/send', SMS_PROVIDER_KEY: 'k' }),
          SCHEDULER,
        ),
      ).toEqual([
        'MAIL_FROM: a .localhost sender in production; give the deployment’s own domain',
        'SMS_PROVIDER_URL: must be an https:// URL in production',
      ]);
      const own = { ...mail, MAIL_FROM: 'rappels@une-fois.quebec' };
      // smtp:// must be upgraded with STARTTLS in production; smtps:// is TLS already.
      expect(AppConfig.fromEnvironment(productionEnv(own), SCHEDULER).reminders.smtpRequireTls).toBe(true);
      expect(
        AppConfig.fromEnvironment(productionEnv({ ...own, SMTP_URL: 'smtps://mail:465' }), SCHEDULER)
          .reminders.smtpRequireTls,
      ).toBe(false);
      expect(AppConfig.fromEnvironment({ ...DEVELOPMENT, ...own }).reminders.smtpRequireTls).toBe(false);
    });

    it('takes an SMS provider only whole: URL and key together', () => {
      expect(configProblems({ ...DEVELOPMENT, SMS_PROVIDER_URL: 'https://sms.example/send' })).toEqual([
        'SMS_PROVIDER_URL and SMS_PROVIDER_KEY: set both (an SMS provider) or neither (no SMS)',
      ]);
      const config = AppConfig.fromEnvironment({
        ...DEVELOPMENT,
        SMS_PROVIDER_URL: 'https://sms.example/send',
        SMS_PROVIDER_KEY: 'k',
      });
      expect(config.reminders.sms).toEqual({ url: 'https://sms.example/send', key: 'k' });
    });

    it('names a bad window or sweep period', () => {
      expect(configProblems({ ...DEVELOPMENT, REMINDER_IN_FLIGHT: '0' })).toEqual([
        expect.stringMatching(/^REMINDER_IN_FLIGHT: /),
      ]);
      expect(configProblems({ ...DEVELOPMENT, REMINDER_SWEEP_SECONDS: 'often' })).toEqual([
        'REMINDER_SWEEP_SECONDS: must be a whole number (got "often")',
      ]);
    });
  });

  describe('with NODE_ENV unset', () => {
    it('is production: refuses to start without secrets, naming each variable and why', () => {
      expect(configProblems({}, BROKER)).toEqual([
        'MASTER_KEYS: required when NODE_ENV=production',
        'PAIRWISE_SECRET: required when NODE_ENV=production',
        'SIGNING_KEYS: required when NODE_ENV=production',
        'ACCESS_TOKEN_SIGNING_KEYS: required when NODE_ENV=production',
        'CITIZEN_ISSUER: required when NODE_ENV=production',
        'CITIZEN_JWKS_URI: required when NODE_ENV=production',
        'BROKER_URL: required when NODE_ENV=production',
        'VAULT_URL: required when NODE_ENV=production',
        'NODE_ENV: unset, which means production; set it to development or test to use the development keys and issuer',
      ]);
      expect(configProblems({ NODE_ENV: '' })).toContain('MASTER_KEYS: required when NODE_ENV=production');
    });

    it('starts with every production variable set, with no development key or issuer', () => {
      const { NODE_ENV: _unset, ...withoutNodeEnv } = productionEnv();
      const config = AppConfig.fromEnvironment(withoutNodeEnv);
      expect(config.production).toBe(true);
      expect(config.citizenIssuer.devIssuerKey).toBeNull();
      expect(config.signingKeys[0]).toMatchObject({ kid: 'platform-2026' });
      expect(config.applyRegistryAtBoot).toBe(false);
    });
  });

  it('reports every problem at once', () => {
    const attempt = () =>
      AppConfig.fromEnvironment({ NODE_ENV: 'production', VAULT_PORT: 'abc', PAIRWISE_SECRET: 'short' });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const variable of [
      'VAULT_PORT',
      'MASTER_KEYS',
      'SIGNING_KEYS',
      'CITIZEN_ISSUER',
      'CITIZEN_JWKS_URI',
    ]) {
      expect(message).toContain(variable);
    }
    expect(message).toContain('PAIRWISE_SECRET: must be at least 32 characters');
  });

  it.each([
    [{ CITIZEN_JWKS_URI: 'https://auth.example/jwks' }],
    [{ CITIZEN_ISSUER: 'https://auth.example' }],
  ])('refuses half a real citizen issuer (%j)', (env) => {
    expect(() => AppConfig.fromEnvironment({ ...DEVELOPMENT, ...env })).toThrow(
      /CITIZEN_ISSUER and CITIZEN_JWKS_URI: set both/,
    );
  });

  describe('in production', () => {
    it('refuses to start without its secrets, real issuer and public URLs, naming each missing variable', () => {
      expect(configProblems({ NODE_ENV: 'production' })).toEqual([
        'MASTER_KEYS: required when NODE_ENV=production',
        'PAIRWISE_SECRET: required when NODE_ENV=production',
        'SIGNING_KEYS: required when NODE_ENV=production',
        'CITIZEN_ISSUER: required when NODE_ENV=production',
        'CITIZEN_JWKS_URI: required when NODE_ENV=production',
        'BROKER_URL: required when NODE_ENV=production',
        'VAULT_URL: required when NODE_ENV=production',
      ]);
    });

    it.each([
      'MASTER_KEYS',
      'PAIRWISE_SECRET',
      'SIGNING_KEYS',
      'CITIZEN_ISSUER',
      'CITIZEN_JWKS_URI',
      'BROKER_URL',
      'VAULT_URL',
    ])('refuses to start without %s alone', (name) => {
      expect(configProblems(productionEnv({ [name]: undefined }))).toEqual([
        `${name}: required when NODE_ENV=production`,
      ]);
      expect(configProblems(productionEnv({ [name]: '' }))).toEqual([
        `${name}: required when NODE_ENV=production`,
      ]);
    });

    it('starts with all of them, using the configured issuer and no dev key', () => {
      const config = AppConfig.fromEnvironment(productionEnv());
      expect(config.production).toBe(true);
      expect(config.citizenIssuer).toEqual({
        issuer: 'https://auth.quebec.ca',
        audience: 'urn:une-fois:vault',
        jwksUri: 'https://auth.quebec.ca/.well-known/jwks.json',
        devIssuerKey: null,
      });
      expect(config.signingKeys).toEqual([
        expect.objectContaining({ kty: 'EC', crv: 'P-256', kid: 'platform-2026' }),
      ]);
      expect(config.pairwiseSecret.toString()).toBe('p'.repeat(32));
      expect(config.urls.broker).toBe('https://courtier.une-fois.gouv.qc.ca');
    });

    it('does not apply the registry files at boot unless told to', () => {
      expect(AppConfig.fromEnvironment(productionEnv()).applyRegistryAtBoot).toBe(false);
      expect(
        AppConfig.fromEnvironment(productionEnv({ APPLY_REGISTRY_AT_BOOT: 'true' })).applyRegistryAtBoot,
      ).toBe(true);
      expect(
        AppConfig.fromEnvironment({ ...DEVELOPMENT, APPLY_REGISTRY_AT_BOOT: 'false' }).applyRegistryAtBoot,
      ).toBe(false);
    });
  });

  describe('the portal', () => {
    const PORTAL = { portal: true };
    const production = (overrides: Record<string, string | undefined> = {}) => ({
      NODE_ENV: 'production',
      CITIZEN_ISSUER: 'https://auth.quebec.ca',
      VAULT_URL: 'https://coffre.une-fois.gouv.qc.ca',
      PORTAL_URL: 'https://mondossier.une-fois.gouv.qc.ca',
      PORTAL_CLIENT_SECRET: 's'.repeat(40),
      ...overrides,
    });

    it('needs an OpenID provider to sign citizens in at, even in development, naming the variable', () => {
      expect(() => AppConfig.fromEnvironment(DEVELOPMENT, PORTAL)).toThrow(/CITIZEN_ISSUER: required by the portal/);
    });

    it('has a development client of the development provider, and sessions that end after 15 idle minutes or 8 hours', () => {
      const config = AppConfig.fromEnvironment({ ...DEVELOPMENT, CITIZEN_ISSUER: 'http://localhost:3006' }, PORTAL);
      expect(config.portal).toMatchObject({
        url: 'http://localhost:3005',
        clientId: 'une-fois-portal',
        sessionIdleMs: 15 * 60_000,
        sessionMaxMs: 8 * 3600_000,
      });
      expect(config.portal.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('refuses production without its issuer, public https URL, client secret and the vault’s URL, naming each', () => {
      const problems = (env: Record<string, string | undefined>) => {
        try {
          AppConfig.fromEnvironment(env, PORTAL);
          return [];
        } catch (error) {
          return (error as ConfigError).problems;
        }
      };
      expect(problems(production())).toEqual([]);
      for (const key of ['CITIZEN_ISSUER', 'PORTAL_URL', 'PORTAL_CLIENT_SECRET', 'VAULT_URL'])
        expect(problems(production({ [key]: undefined }))).toContain(`${key}: required when NODE_ENV=production`);
      expect(problems(production({ PORTAL_URL: 'http://mondossier.une-fois.gouv.qc.ca' }))).toContain(
        'PORTAL_URL: must be an https:// URL in production',
      );
    });

    it('holds none of the platform’s secrets: it reaches citizens’ data through the vault', () => {
      expect(() => AppConfig.fromEnvironment(production({ MASTER_KEYS: `main:1:${base64Key()}` }), PORTAL)).toThrow(
        /MASTER_KEYS: a platform secret; this app never holds it/,
      );
    });

    it('is where consent requests’ approval links lead once PORTAL_URL is set', () => {
      const config = AppConfig.fromEnvironment({ ...DEVELOPMENT, PORTAL_URL: 'https://mondossier.example' });
      expect(config.portal).toMatchObject({ url: 'https://mondossier.example', published: true });
    });
  });

  describe('the development OpenID provider', () => {
    it('never runs in production', () => {
      expect(() =>
        AppConfig.fromEnvironment({ NODE_ENV: 'production' }, { identityProvider: true }),
      ).toThrow(/NODE_ENV: the development OpenID provider never runs in production/);
    });
  });

  describe('ACCESS_TOKEN_SIGNING_KEYS', () => {
    it('is required in production by the broker, which alone reads it', () => {
      expect(configProblems(productionEnv(), BROKER)).toEqual([
        'ACCESS_TOKEN_SIGNING_KEYS: required when NODE_ENV=production',
      ]);
      const keys = signingKeysJson();
      const config = AppConfig.fromEnvironment(productionEnv({ ACCESS_TOKEN_SIGNING_KEYS: keys }), BROKER);
      expect(config.accessTokenKeys).toEqual(JSON.parse(keys));
    });

    it('stops any other process from booting with it in its environment, naming it', () => {
      const keys = signingKeysJson();
      const refusal =
        "ACCESS_TOKEN_SIGNING_KEYS: held by the broker only; remove it from this process's environment";
      expect(configProblems(productionEnv({ ACCESS_TOKEN_SIGNING_KEYS: keys }))).toEqual([refusal]);
      expect(configProblems({ ...DEVELOPMENT, ACCESS_TOKEN_SIGNING_KEYS: keys })).toEqual([refusal]);
      const config = AppConfig.fromEnvironment(productionEnv());
      expect(config.accessTokenKeys).toBeNull();
    });

    it('has a development key of its own, not the platform signing key', () => {
      const config = AppConfig.fromEnvironment(DEVELOPMENT, BROKER);
      expect(config.accessTokenKeys).toEqual([expect.objectContaining({ kid: 'dev-access-token-1' })]);
      expect(config.accessTokenKeys![0].x).not.toBe(config.signingKeys[0].x);
      expect(AppConfig.fromEnvironment(DEVELOPMENT).accessTokenKeys).toBeNull();
    });

    it('refuses a key that also signs the platform outputs, and a malformed key', () => {
      const keys = signingKeysJson();
      expect(
        configProblems(productionEnv({ SIGNING_KEYS: keys, ACCESS_TOKEN_SIGNING_KEYS: keys }), BROKER),
      ).toEqual(['ACCESS_TOKEN_SIGNING_KEYS: must not hold a key of SIGNING_KEYS (one key per role)']);
      expect(configProblems({ ...DEVELOPMENT, ACCESS_TOKEN_SIGNING_KEYS: '[]' }, BROKER)).toEqual([
        'ACCESS_TOKEN_SIGNING_KEYS: must be a non-empty JSON array of private JWKs',
      ]);
    });
  });

  describe('MASTER_KEYS', () => {
    it('reads id:version:base64 entries, comma-separated, with spaces around them', () => {
      const a = randomBytes(32);
      const b = randomBytes(32);
      const config = AppConfig.fromEnvironment({
        ...DEVELOPMENT,
        MASTER_KEYS: `main:1:${a.toString('base64')} , main:2:${b.toString('base64')},old_key:7:${b.toString('base64url')}`,
      });
      expect(config.masterKeys).toEqual([
        { id: 'main', version: 1, key: a },
        { id: 'main', version: 2, key: b },
        { id: 'old_key', version: 7, key: b },
      ]);
    });

    it.each([
      ['a key of 16 bytes', `main:1:${base64Key(16)}`, 1],
      ['a key of 33 bytes', `main:1:${base64Key(33)}`, 1],
      ['no version', `main:${base64Key()}`, 1],
      ['a version that is not a number', `main:v1:${base64Key()}`, 1],
      ['an id with a space', `main key:1:${base64Key()}`, 1],
      ['a bad second entry', `main:1:${base64Key()},main:2:${base64Key(31)}`, 2],
      ['an empty entry', `main:1:${base64Key()},`, 2],
    ])('refuses %s, naming the entry', (_case, value, entry) => {
      expect(configProblems({ ...DEVELOPMENT, MASTER_KEYS: value })).toEqual([
        `MASTER_KEYS: entry ${entry} must be id:version:base64 of 32 bytes`,
      ]);
    });

    it('refuses the same id and version twice', () => {
      expect(
        configProblems({ ...DEVELOPMENT, MASTER_KEYS: `main:1:${base64Key()},main:1:${base64Key()}` }),
      ).toEqual(['MASTER_KEYS: a key id and version appears twice']);
    });

    it('accepts the same version under two ids', () => {
      expect(
        AppConfig.fromEnvironment({ ...DEVELOPMENT, MASTER_KEYS: `a:1:${base64Key()},b:1:${base64Key()}` })
          .masterKeys,
      ).toHaveLength(2);
    });
  });

  describe('PAIRWISE_SECRET', () => {
    it('refuses fewer than 32 characters', () => {
      expect(configProblems({ ...DEVELOPMENT, PAIRWISE_SECRET: 'p'.repeat(31) })).toEqual([
        'PAIRWISE_SECRET: must be at least 32 characters',
      ]);
    });
  });

  describe('SIGNING_KEYS', () => {
    it.each([
      ['text that is not JSON', 'not json', 'SIGNING_KEYS: must be a JSON array of private JWKs'],
      ['an empty array', '[]', 'SIGNING_KEYS: must be a non-empty JSON array of private JWKs'],
      [
        'an object instead of an array',
        '{"keys":[]}',
        'SIGNING_KEYS: must be a non-empty JSON array of private JWKs',
      ],
    ])('refuses %s', (_case, value, problem) => {
      expect(configProblems({ ...DEVELOPMENT, SIGNING_KEYS: value })).toEqual([problem]);
    });

    it('refuses a public key, a key without kid and an unsupported curve, naming the key', () => {
      const [privateJwk] = JSON.parse(signingKeysJson()) as Record<string, string>[];
      const { d: _d, ...publicJwk } = privateJwk;
      const { kid: _kid, ...withoutKid } = privateJwk;
      const p384 = {
        ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'jwk' }),
        kid: 'k',
      };
      for (const [keys, index] of [
        [[publicJwk], 1],
        [[privateJwk, withoutKid], 2],
        [[p384], 1],
      ] as const) {
        expect(configProblems({ ...DEVELOPMENT, SIGNING_KEYS: JSON.stringify(keys) })).toEqual([
          `SIGNING_KEYS: key ${index} must be a private EC P-256 or Ed25519 JWK with a kid`,
        ]);
      }
    });
  });
});

describe(devEd25519Jwk.name, () => {
  it('derives the same usable private Ed25519 key from the same label, another from another label', () => {
    const jwk = devEd25519Jwk('test-label');
    expect(jwk).toEqual(devEd25519Jwk('test-label'));
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: 'test-label-1', alg: 'EdDSA', use: 'sig' });
    expect(jwk.d).toBeDefined();
    expect(devEd25519Jwk('other-label').x).not.toBe(jwk.x);

    const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    const signature = sign(null, Buffer.from('bonjour'), privateKey);
    expect(verify(null, Buffer.from('bonjour'), createPublicKey(privateKey), signature)).toBe(true);
  });
});
