import { ConfigError, validateEnv } from './env.js';

/** The problems a ConfigError lists, or a failure if the variables are accepted. */
function problemsOf(raw: Record<string, string | undefined>): string[] {
  try {
    validateEnv(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe(validateEnv.name, () => {
  it('applies the documented defaults when nothing is set', () => {
    expect(validateEnv({})).toMatchObject({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unefois',
      DATABASE_STATEMENT_TIMEOUT_MILLISECONDS: 10_000,
      DATABASE_LOCK_TIMEOUT_MILLISECONDS: 5000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'unefois',
      VAULT_PORT: 3001,
      BROKER_PORT: 3002,
      BAROMETER_PORT: 3003,
      SCHEDULER_PORT: 3004,
      PORTAL_PORT: 3005,
      IDP_PORT: 3006,
      PORTAL_CLIENT_ID: 'une-fois-portal',
      PORTAL_SESSION_IDLE_MINUTES: 15,
      PORTAL_SESSION_MAX_MINUTES: 480,
      CITIZEN_AUDIENCE: 'urn:une-fois:vault',
      REGISTRY_FILE: 'config/registry.yaml',
      CATALOGUE_FILE: 'config/catalogue.yaml',
      BODY_LIMIT_BYTES: 262144,
      LOG_LEVEL: 'info',
      REGISTRY_REFRESH_SECONDS: 30,
    });
  });

  it('leaves the optional variables unset by default', () => {
    const env = validateEnv({});
    expect(env.VAULT_URL).toBeUndefined();
    expect(env.MASTER_KEYS).toBeUndefined();
    expect(env.SIGNING_KEYS).toBeUndefined();
    expect(env.CITIZEN_JWKS_URI).toBeUndefined();
    expect(env.APPLY_REGISTRY_AT_BOOT).toBeUndefined();
  });

  it('reads ACCESS_TOKEN_SIGNING_KEYS only for the process that issues access tokens, and refuses it elsewhere', () => {
    for (const NODE_ENV of ['production', 'development', 'test']) {
      expect(() => validateEnv({ NODE_ENV, ACCESS_TOKEN_SIGNING_KEYS: '[…]' })).toThrow(
        "ACCESS_TOKEN_SIGNING_KEYS: held by the broker only; remove it from this process's environment",
      );
    }
    expect(validateEnv({ ACCESS_TOKEN_SIGNING_KEYS: '' }).ACCESS_TOKEN_SIGNING_KEYS).toBeUndefined();
    expect(
      validateEnv({ ACCESS_TOKEN_SIGNING_KEYS: '[…]' }, { issuesAccessTokens: true })
        .ACCESS_TOKEN_SIGNING_KEYS,
    ).toBe('[…]');
  });

  it('reads the values given, with whole numbers as numbers', () => {
    const env = validateEnv({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgresql://app:secret@db.internal:6432/unefois_t_1',
      REDIS_URL: 'rediss://cache.internal:6380',
      VAULT_PORT: '8001',
      VAULT_URL: 'https://vault.une-fois.gouv.qc.ca',
      LOG_LEVEL: 'debug',
    });
    expect(env).toMatchObject({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgresql://app:secret@db.internal:6432/unefois_t_1',
      REDIS_URL: 'rediss://cache.internal:6380',
      VAULT_PORT: 8001,
      VAULT_URL: 'https://vault.une-fois.gouv.qc.ca',
      LOG_LEVEL: 'debug',
    });
  });

  it('treats an empty string as unset', () => {
    expect(validateEnv({ VAULT_PORT: '', DATABASE_URL: '' })).toMatchObject({
      VAULT_PORT: 3001,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unefois',
    });
  });

  it('ignores variables it does not know', () => {
    expect(() => validateEnv({ PATH: '/usr/bin', HOME: '/root', VAULT_PORTS: 'abc' })).not.toThrow();
  });

  it.each([
    ['VAULT_PORT', 'abc'],
    ['VAULT_PORT', '-1'],
    ['VAULT_PORT', '3001.5'],
    ['BROKER_PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_STATEMENT_TIMEOUT_MILLISECONDS', '0'],
    ['DATABASE_LOCK_TIMEOUT_MILLISECONDS', 'soon'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_PREFIX', 'une fois'],
    ['NODE_ENV', 'prod'],
    ['VAULT_URL', 'vault.local'],
    ['CITIZEN_JWKS_URI', 'ftp://issuer.example/jwks'],
    ['SMTP_URL', 'mail.example.com'],
    ['BODY_LIMIT_BYTES', '100'],
    ['LOG_LEVEL', 'verbose'],
    ['REGISTRY_REFRESH_SECONDS', '0'],
    ['APPLY_REGISTRY_AT_BOOT', 'yes'],
  ])('refuses %s=%p with a ConfigError naming the variable', (name, value) => {
    expect(() => validateEnv({ [name]: value })).toThrow(ConfigError);
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name}: `));
  });

  it('says what was wrong in the message', () => {
    expect(() => validateEnv({ VAULT_PORT: 'abc' })).toThrow(
      'VAULT_PORT: must be a whole number (got "abc")',
    );
    expect(() => validateEnv({ DATABASE_URL: 'mysql://x' })).toThrow(
      'DATABASE_URL: must be a postgres:// URL',
    );
    expect(() => validateEnv({ NODE_ENV: 'prod' })).toThrow(/NODE_ENV: .*development, test, production/);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ VAULT_PORT: 'abc', DATABASE_URL: 'mysql://x', NODE_ENV: 'prod' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'NODE_ENV', 'VAULT_PORT']);
  });
});

describe(ConfigError.name, () => {
  it('lists each problem on its own line', () => {
    const error = new ConfigError(['A: bad', 'B: worse']);
    expect(error.message).toBe('Invalid configuration:\n  - A: bad\n  - B: worse');
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
  });
});
