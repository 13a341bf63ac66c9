import { plainToInstance } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync } from 'class-validator';

const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * The environment, as read and checked once at boot. Every variable of the
 * README's configuration table is here; nothing else in the code base reads
 * `process.env`.
 */
export class Env {
  /** Unset means production: the development keys and issuer need an explicit `development` or `test`. */
  @IsIn(['development', 'test', 'production'])
  NODE_ENV = 'production';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/unefois';

  /** PostgreSQL connections per process. Roughly: twice the database host's cores, shared among the app processes. */
  @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE = 4;

  /** How long a query waits for a connection (a free one of the pool, or a new one) before the request answers 503. */
  @IsInt() @Min(100) @Max(60_000) DATABASE_ACQUIRE_TIMEOUT_MILLISECONDS = 5000;

  /** An app's statement running longer is cancelled and its request answers 503 (the CLI has no limit). */
  @IsInt() @Min(100) @Max(3_600_000) DATABASE_STATEMENT_TIMEOUT_MILLISECONDS = 10_000;

  /** An app's statement waiting longer for a lock gives up and its request answers 503 (the CLI has no limit). */
  @IsInt() @Min(100) @Max(3_600_000) DATABASE_LOCK_TIMEOUT_MILLISECONDS = 5000;

  /** How long a data request waits behind this process's other requests for the same citizen before it answers 503. */
  @IsInt() @Min(50) @Max(60_000) RELEASE_QUEUE_TIMEOUT_MILLISECONDS = 5000;

  /**
   * How long the broker gathers access-log appends into one statement (group
   * commit); 0 gathers those of one turn of the event loop.
   */
  @IsInt() @Min(0) @Max(1000) ACCESS_LOG_GROUP_COMMIT_MILLISECONDS = 1;

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** BullMQ key prefix, so several deployments (or test files) share one Redis. */
  @Matches(/^[A-Za-z0-9_-]+$/)
  REDIS_PREFIX = 'unefois';

  @IsInt() @Min(0) @Max(65535) VAULT_PORT = 3001;
  @IsInt() @Min(0) @Max(65535) BROKER_PORT = 3002;
  @IsInt() @Min(0) @Max(65535) BAROMETER_PORT = 3003;
  @IsInt() @Min(0) @Max(65535) SCHEDULER_PORT = 3004;
  @IsInt() @Min(0) @Max(65535) PORTAL_PORT = 3005;
  /** The development OpenID provider (apps/idp): development and tests only. */
  @IsInt() @Min(0) @Max(65535) IDP_PORT = 3006;

  @IsOptional() @IsUrl(URL_OPTIONS) VAULT_URL?: string;
  @IsOptional() @IsUrl(URL_OPTIONS) BROKER_URL?: string;
  @IsOptional() @IsUrl(URL_OPTIONS) BAROMETER_URL?: string;
  /** The citizen portal's public base URL; when set, a consent request's approvalUrl is its page there. */
  @IsOptional() @IsUrl(URL_OPTIONS) PORTAL_URL?: string;
  /** The development OpenID provider's public base URL, its issuer. */
  @IsOptional() @IsUrl(URL_OPTIONS) IDP_URL?: string;

  /** The portal's OpenID Connect client at CITIZEN_ISSUER (authorization code + PKCE, client_secret_basic). */
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'must be a client id' }) PORTAL_CLIENT_ID = 'une-fois-portal';
  @IsOptional() @IsString() PORTAL_CLIENT_SECRET?: string;
  /** A portal session ends after this long without a request from its browser. */
  @IsInt() @Min(1) @Max(720) PORTAL_SESSION_IDLE_MINUTES = 15;
  /** …and after this long in any case: the citizen signs in again. */
  @IsInt() @Min(1) @Max(1440) PORTAL_SESSION_MAX_MINUTES = 480;
  /** The development OpenID provider's accounts (sign-in names and identity claims). */
  @IsString() IDP_ACCOUNTS_FILE = 'config/demo/identities.yaml';

  /**
   * The barometer's only link to the platform: the JWKS its metric events are
   * verified with. Required in production; elsewhere the local broker's.
   */
  @IsOptional() @IsUrl(URL_OPTIONS) PLATFORM_JWKS_URL?: string;

  /** The OpenID Connect issuer of citizen tokens. Unset outside production: the built-in dev issuer. */
  @IsOptional() @IsString() CITIZEN_ISSUER?: string;
  @IsOptional() @IsUrl(URL_OPTIONS) CITIZEN_JWKS_URI?: string;
  /** The `aud` of citizen tokens, and the resource (RFC 8707, an absolute URI) the portal asks tokens for. */
  @IsString() CITIZEN_AUDIENCE = 'urn:une-fois:vault';

  @IsString() REGISTRY_FILE = 'config/registry.yaml';
  @IsString() CATALOGUE_FILE = 'config/catalogue.yaml';

  /** `id:version:base64-of-32-bytes`, comma-separated; the highest version wraps new data keys. */
  @IsOptional() @IsString() MASTER_KEYS?: string;

  /** Secret of the pairwise identifiers (HMAC key), at least 32 characters. */
  @IsOptional() @IsString() PAIRWISE_SECRET?: string;

  /** JSON array of private JWKs (EC P-256 or OKP Ed25519) with `kid`; the first signs, all are published. */
  @IsOptional() @IsString() SIGNING_KEYS?: string;

  /**
   * The broker's own keys for the access tokens it issues, same format as
   * SIGNING_KEYS. Read only by the broker; every other process refuses to boot
   * with it in its environment (see readEnv), so a vault or scheduler that
   * holds the platform's output key still cannot mint a service's token.
   */
  @IsOptional() @IsString() ACCESS_TOKEN_SIGNING_KEYS?: string;

  @IsOptional() @Matches(/^smtps?:\/\/.+/, { message: 'must be an smtp:// URL' }) SMTP_URL?: string;
  /** The reminders' sender; outside production, `Une fois <no-reply@une-fois.localhost>` when unset. */
  @IsOptional() @IsString() MAIL_FROM?: string;
  @IsOptional() @IsUrl(URL_OPTIONS) SMS_PROVIDER_URL?: string;
  @IsOptional() @IsString() SMS_PROVIDER_KEY?: string;

  /** Largest accepted request body (bytes). */
  @IsInt() @Min(1024) @Max(10 * 1024 * 1024) BODY_LIMIT_BYTES = 256 * 1024;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** After fetching a JWKS, how long an unknown `kid` waits before it may trigger another fetch. */
  @IsInt() @Min(0) JWKS_REFETCH_COOLDOWN_SECONDS = 30;

  /** How often the scheduler looks for due outbox events. */
  @IsInt() @Min(50) OUTBOX_POLL_MILLISECONDS = 1000;

  /** How often the scheduler publishes a signed checkpoint over the access-log chains (0: never; `cli audit:checkpoint` still can). */
  @IsInt() @Min(0) @Max(10080) ACCESS_LOG_CHECKPOINT_MINUTES = 60;

  /** How many webhooks one scheduler process delivers at once. */
  @IsInt() @Min(1) @Max(256) WEBHOOK_CONCURRENCY = 16;

  /** How many webhooks of one service are in flight at once, over every scheduler process. */
  @IsInt() @Min(1) @Max(64) WEBHOOK_CONCURRENCY_PER_SERVICE = 2;

  /** Overall deadline of one delivery attempt: connect, send and the whole answer. Below the 60 s claim lease. */
  @IsInt() @Min(1) @Max(30) WEBHOOK_TIMEOUT_SECONDS = 10;

  /** How often the scheduler looks for due reminders (a reminder leaves within about this of its time). */
  @IsInt() @Min(1) @Max(3600) REMINDER_SWEEP_SECONDS = 15;

  /** How many reminders one scheduler process sends at once. */
  @IsInt() @Min(1) @Max(256) REMINDER_CONCURRENCY = 64;

  /** How many reminders may be queued in Redis at once, over every scheduler: Redis holds this window, never the future reminders. */
  @IsInt() @Min(1) @Max(100_000) REMINDER_IN_FLIGHT = 2000;

  /** Attempts of one reminder before it is recorded as failed. */
  @IsInt() @Min(1) @Max(30) REMINDER_ATTEMPTS = 6;

  /** Wait before the second attempt; doubled before each next one. */
  @IsInt() @Min(1) @Max(3600) REMINDER_BACKOFF_SECONDS = 30;

  /** How long a queued reminder is taken to be in Redis; past it, a sweep queues it again if its job is gone. */
  @IsInt() @Min(1) @Max(86_400) REMINDER_LEASE_SECONDS = 120;

  /** Overall deadline of one send on one channel (SMTP dialogue, SMS provider's answer). */
  @IsInt() @Min(1) @Max(60) REMINDER_SEND_TIMEOUT_SECONDS = 15;

  /** How often the scheduler looks for a closed day whose releases are not yet counted for the barometer. */
  @IsInt() @Min(1) @Max(86_400) RELEASE_SUMMARY_SECONDS = 300;

  /** How often each app reloads the registry and catalogue from the database. */
  @IsInt() @Min(1) REGISTRY_REFRESH_SECONDS = 30;

  /** Apply REGISTRY_FILE and CATALOGUE_FILE to the database at boot; unset: only outside production. */
  @IsOptional() @IsIn(['true', 'false']) APPLY_REGISTRY_AT_BOOT?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const INTEGER_KEYS: (keyof Env)[] = [
  'DATABASE_POOL_SIZE',
  'DATABASE_ACQUIRE_TIMEOUT_MILLISECONDS',
  'DATABASE_STATEMENT_TIMEOUT_MILLISECONDS',
  'DATABASE_LOCK_TIMEOUT_MILLISECONDS',
  'RELEASE_QUEUE_TIMEOUT_MILLISECONDS',
  'ACCESS_LOG_GROUP_COMMIT_MILLISECONDS',
  'VAULT_PORT',
  'BROKER_PORT',
  'BAROMETER_PORT',
  'SCHEDULER_PORT',
  'PORTAL_PORT',
  'IDP_PORT',
  'PORTAL_SESSION_IDLE_MINUTES',
  'PORTAL_SESSION_MAX_MINUTES',
  'BODY_LIMIT_BYTES',
  'REGISTRY_REFRESH_SECONDS',
  'JWKS_REFETCH_COOLDOWN_SECONDS',
  'OUTBOX_POLL_MILLISECONDS',
  'ACCESS_LOG_CHECKPOINT_MINUTES',
  'WEBHOOK_CONCURRENCY',
  'WEBHOOK_CONCURRENCY_PER_SERVICE',
  'WEBHOOK_TIMEOUT_SECONDS',
  'REMINDER_SWEEP_SECONDS',
  'REMINDER_CONCURRENCY',
  'REMINDER_IN_FLIGHT',
  'REMINDER_ATTEMPTS',
  'REMINDER_BACKOFF_SECONDS',
  'REMINDER_LEASE_SECONDS',
  'REMINDER_SEND_TIMEOUT_SECONDS',
  'RELEASE_SUMMARY_SECONDS',
];

/** Which process reads the environment, for the variables only one process may hold. */
export interface ConfigOptions {
  /** The broker: the only process that reads ACCESS_TOKEN_SIGNING_KEYS; any other refuses it. */
  issuesAccessTokens?: boolean;
  /** The scheduler: sends reminders and relays metric events, so production needs its SMTP server and barometer. */
  sendsReminders?: boolean;
  /**
   * The reference barometer, run as if by another organisation: production
   * needs PLATFORM_JWKS_URL and none of the platform's secrets, and it refuses
   * to boot with one of them in its environment.
   */
  barometer?: boolean;
  /**
   * The citizen portal, a client of the vault's API: production needs its
   * OpenID client and public URL, and like the barometer it holds none of
   * the platform's secrets.
   */
  portal?: boolean;
  /** The development OpenID provider: refused in production. */
  identityProvider?: boolean;
}

/** The platform's secrets: a barometer or the portal never holds them. */
const PLATFORM_SECRETS = ['MASTER_KEYS', 'PAIRWISE_SECRET', 'SIGNING_KEYS'];

/** Reads and validates raw variables; unknown variables are ignored, empty strings count as unset. */
export function validateEnv(raw: Record<string, string | undefined>, options: ConfigOptions = {}): Env {
  const problems: string[] = [];
  const env = readEnv(raw, problems, options);
  if (problems.length > 0) throw new ConfigError(problems);
  return env;
}

/** Like validateEnv, but adds its problems to `problems` so a caller can report them with its own. */
export function readEnv(
  raw: Record<string, string | undefined>,
  problems: string[],
  options: ConfigOptions = {},
): Env {
  const known = new Set([
    ...Object.keys(new Env()),
    'VAULT_URL',
    'BROKER_URL',
    'BAROMETER_URL',
    'PORTAL_URL',
    'IDP_URL',
    'PORTAL_CLIENT_SECRET',
    'PLATFORM_JWKS_URL',
    'CITIZEN_ISSUER',
    'CITIZEN_JWKS_URI',
    'MASTER_KEYS',
    'PAIRWISE_SECRET',
    'SIGNING_KEYS',
    'SMTP_URL',
    'SMS_PROVIDER_URL',
    'SMS_PROVIDER_KEY',
    'APPLY_REGISTRY_AT_BOOT',
    'ACCESS_TOKEN_SIGNING_KEYS',
  ]);
  if (!options.issuesAccessTokens) {
    known.delete('ACCESS_TOKEN_SIGNING_KEYS');
    // Ignoring it would leave the key readable in this process's environment (a dump, /proc, a child
    // process): a compromised vault or scheduler could mint a service's token. Refused in every mode,
    // so a shared environment is caught on a laptop before it reaches production.
    if (raw.ACCESS_TOKEN_SIGNING_KEYS) {
      problems.push(
        "ACCESS_TOKEN_SIGNING_KEYS: held by the broker only; remove it from this process's environment",
      );
    }
  }
  const apart = options.barometer ? 'the barometer' : options.portal || options.identityProvider ? 'this app' : null;
  if (apart) {
    for (const key of PLATFORM_SECRETS) {
      known.delete(key);
      if (raw[key]) problems.push(`${key}: a platform secret; ${apart} never holds it`);
    }
  }
  const picked: Record<string, unknown> = {};
  for (const key of known) {
    const value = raw[key];
    if (value === undefined || value === '') continue;
    if (INTEGER_KEYS.includes(key as keyof Env)) {
      if (!/^\d+$/.test(value)) {
        problems.push(`${key}: must be a whole number (got "${value}")`);
        continue;
      }
      picked[key] = Number(value);
    } else {
      picked[key] = value;
    }
  }
  const env = plainToInstance(Env, picked);
  for (const error of validateSync(env, { skipMissingProperties: false })) {
    problems.push(`${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`);
  }
  return env;
}
