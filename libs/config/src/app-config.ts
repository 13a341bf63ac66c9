import { createHash, createPrivateKey, type JsonWebKey } from 'node:crypto';
import { ConfigError, type ConfigOptions, Env, readEnv } from './env.js';

export interface MasterKey {
  id: string;
  version: number;
  key: Buffer;
}

/** How reminders leave: the sweep, the window of queued work, retries, and the channels' settings. */
export interface ReminderConfig {
  sweepMs: number;
  concurrency: number;
  inFlight: number;
  attempts: number;
  backoffMs: number;
  leaseMs: number;
  sendTimeoutMs: number;
  smtpUrl: string | null;
  /** An smtp:// server must offer STARTTLS (production); smtps:// is TLS from the start. */
  smtpRequireTls: boolean;
  mailFrom: string;
  /** Null when no SMS provider is configured: the SMS channel is then unusable, and says so. */
  sms: { url: string; key: string } | null;
}

export interface CitizenIssuerConfig {
  issuer: string;
  audience: string;
  /** Remote JWKS of a real issuer; null for the built-in dev issuer, whose keys are local. */
  jwksUri: string | null;
  /** Private key of the built-in dev issuer (development and tests only). */
  devIssuerKey: JsonWebKey | null;
}

/** The citizen portal: where it is, its OpenID client at the citizen issuer, and its sessions. */
export interface PortalConfig {
  /** Its public base URL: PORTAL_URL, else http://localhost:PORTAL_PORT. */
  url: string;
  /** Whether PORTAL_URL is set: consent requests' approval links then lead to the portal. */
  published: boolean;
  clientId: string;
  clientSecret: string;
  sessionIdleMs: number;
  sessionMaxMs: number;
}

/** The typed configuration every app and the CLI share. Built once from the environment. */
export class AppConfig {
  readonly env: Env;
  readonly production: boolean;
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  readonly databaseAcquireTimeoutMs: number;
  readonly databaseStatementTimeoutMs: number;
  readonly databaseLockTimeoutMs: number;
  readonly releaseQueueTimeoutMs: number;
  readonly accessLogGroupCommitMs: number;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly ports: {
    vault: number;
    broker: number;
    barometer: number;
    scheduler: number;
    portal: number;
    idp: number;
  };
  readonly urls: { vault: string; broker: string; barometer: string; idp: string };
  readonly portal: PortalConfig;
  /** The development OpenID provider's accounts file. */
  readonly idpAccountsFile: string;
  /** Where the barometer finds the keys that sign metric events. */
  readonly platformJwksUrl: string;
  readonly citizenIssuer: CitizenIssuerConfig;
  readonly registryFile: string;
  readonly catalogueFile: string;
  readonly applyRegistryAtBoot: boolean;
  readonly registryRefreshMs: number;
  readonly jwksRefetchCooldownMs: number;
  readonly outboxPollMs: number;
  readonly webhookConcurrency: number;
  readonly webhookConcurrencyPerService: number;
  readonly webhookTimeoutMs: number;
  readonly accessLogCheckpointMs: number;
  readonly releaseSummaryMs: number;
  readonly reminders: ReminderConfig;
  readonly masterKeys: MasterKey[];
  readonly pairwiseSecret: Buffer;
  /** Signs the platform's outputs: responses, receipts, webhooks, checkpoints. */
  readonly signingKeys: JsonWebKey[];
  /** Signs the broker's access tokens; null in every other process, which never holds it. */
  readonly accessTokenKeys: JsonWebKey[] | null;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;

  /** Adds what it finds wrong to `problems`; fromEnvironment throws them all at once. */
  private constructor(env: Env, problems: string[], options: ConfigOptions, nodeEnvSet: boolean) {
    this.env = env;
    this.production = env.NODE_ENV === 'production';
    if (options.identityProvider && this.production) {
      problems.push('NODE_ENV: the development OpenID provider never runs in production');
    } else if (this.production && options.barometer) {
      if (!env.PLATFORM_JWKS_URL) problems.push('PLATFORM_JWKS_URL: required when NODE_ENV=production');
    } else if (this.production && options.portal) {
      for (const key of ['CITIZEN_ISSUER', 'PORTAL_URL', 'PORTAL_CLIENT_SECRET', 'VAULT_URL'] as const)
        if (!env[key]) problems.push(`${key}: required when NODE_ENV=production`);
      // Session cookies are Secure in production: a portal served over http would never see them again.
      if (env.PORTAL_URL && !env.PORTAL_URL.startsWith('https://'))
        problems.push('PORTAL_URL: must be an https:// URL in production');
    } else if (this.production) {
      const missing = [
        'MASTER_KEYS',
        'PAIRWISE_SECRET',
        'SIGNING_KEYS',
        ...(options.issuesAccessTokens ? (['ACCESS_TOKEN_SIGNING_KEYS'] as const) : []),
        'CITIZEN_ISSUER',
        'CITIZEN_JWKS_URI',
        // The access tokens' audience and the assertions' `aud`: never a `localhost` every deployment shares.
        'BROKER_URL',
        'VAULT_URL',
        // Reminders would all be recorded as suppressed, metric events wait for ever: refused at boot instead.
        ...(options.sendsReminders ? (['SMTP_URL', 'MAIL_FROM', 'BAROMETER_URL'] as const) : []),
      ].filter((key) => !env[key as keyof Env]);
      for (const key of missing) problems.push(`${key}: required when NODE_ENV=production`);
      if (missing.length > 0 && !nodeEnvSet) {
        problems.push(
          'NODE_ENV: unset, which means production; set it to development or test to use the development keys and issuer',
        );
      }
    } else if (options.portal) {
      // The built-in development issuer mints tokens, it signs nobody in: the portal needs an OpenID provider.
      if (!env.CITIZEN_ISSUER)
        problems.push(
          'CITIZEN_ISSUER: required by the portal, which signs citizens in there (in development, the development OpenID provider, npm run start:idp)',
        );
    } else if (!env.CITIZEN_ISSUER !== !env.CITIZEN_JWKS_URI) {
      // Half a real issuer would verify its tokens against the wrong name, or mint dev tokens under its name.
      problems.push(
        'CITIZEN_ISSUER and CITIZEN_JWKS_URI: set both (a real issuer) or neither (the development issuer)',
      );
    }
    this.databaseUrl = env.DATABASE_URL;
    this.databasePoolSize = env.DATABASE_POOL_SIZE;
    this.databaseAcquireTimeoutMs = env.DATABASE_ACQUIRE_TIMEOUT_MILLISECONDS;
    this.databaseStatementTimeoutMs = env.DATABASE_STATEMENT_TIMEOUT_MILLISECONDS;
    this.databaseLockTimeoutMs = env.DATABASE_LOCK_TIMEOUT_MILLISECONDS;
    this.releaseQueueTimeoutMs = env.RELEASE_QUEUE_TIMEOUT_MILLISECONDS;
    this.accessLogGroupCommitMs = env.ACCESS_LOG_GROUP_COMMIT_MILLISECONDS;
    this.redisUrl = env.REDIS_URL;
    this.redisPrefix = env.REDIS_PREFIX;
    this.ports = {
      vault: env.VAULT_PORT,
      broker: env.BROKER_PORT,
      barometer: env.BAROMETER_PORT,
      scheduler: env.SCHEDULER_PORT,
      portal: env.PORTAL_PORT,
      idp: env.IDP_PORT,
    };
    this.urls = {
      vault: trimSlash(env.VAULT_URL ?? `http://localhost:${env.VAULT_PORT}`),
      broker: trimSlash(env.BROKER_URL ?? `http://localhost:${env.BROKER_PORT}`),
      barometer: trimSlash(env.BAROMETER_URL ?? `http://localhost:${env.BAROMETER_PORT}`),
      idp: trimSlash(env.IDP_URL ?? `http://localhost:${env.IDP_PORT}`),
    };
    this.idpAccountsFile = env.IDP_ACCOUNTS_FILE;
    this.portal = {
      url: trimSlash(env.PORTAL_URL ?? `http://localhost:${env.PORTAL_PORT}`),
      published: !!env.PORTAL_URL,
      clientId: env.PORTAL_CLIENT_ID,
      clientSecret: env.PORTAL_CLIENT_SECRET ?? devSecret('portal-client').toString('base64url'),
      sessionIdleMs: env.PORTAL_SESSION_IDLE_MINUTES * 60_000,
      sessionMaxMs: env.PORTAL_SESSION_MAX_MINUTES * 60_000,
    };
    this.platformJwksUrl = env.PLATFORM_JWKS_URL ?? `${this.urls.broker}/.well-known/jwks.json`;
    const devIssuer = !env.CITIZEN_JWKS_URI;
    this.citizenIssuer = {
      issuer: env.CITIZEN_ISSUER ?? `${this.urls.vault}/dev-issuer`,
      audience: env.CITIZEN_AUDIENCE,
      jwksUri: env.CITIZEN_JWKS_URI ?? null,
      devIssuerKey: devIssuer ? devEd25519Jwk('dev-citizen-issuer') : null,
    };
    this.registryFile = env.REGISTRY_FILE;
    this.catalogueFile = env.CATALOGUE_FILE;
    // The registry file in the repository is the demo's: production applies registries on purpose, with the CLI.
    this.applyRegistryAtBoot =
      env.APPLY_REGISTRY_AT_BOOT === undefined ? !this.production : env.APPLY_REGISTRY_AT_BOOT === 'true';
    this.registryRefreshMs = env.REGISTRY_REFRESH_SECONDS * 1000;
    this.jwksRefetchCooldownMs = env.JWKS_REFETCH_COOLDOWN_SECONDS * 1000;
    this.outboxPollMs = env.OUTBOX_POLL_MILLISECONDS;
    this.webhookConcurrency = env.WEBHOOK_CONCURRENCY;
    this.webhookConcurrencyPerService = env.WEBHOOK_CONCURRENCY_PER_SERVICE;
    this.webhookTimeoutMs = env.WEBHOOK_TIMEOUT_SECONDS * 1000;
    this.accessLogCheckpointMs = env.ACCESS_LOG_CHECKPOINT_MINUTES * 60_000;
    this.releaseSummaryMs = env.RELEASE_SUMMARY_SECONDS * 1000;
    if (!!env.SMS_PROVIDER_URL !== !!env.SMS_PROVIDER_KEY) {
      problems.push('SMS_PROVIDER_URL and SMS_PROVIDER_KEY: set both (an SMS provider) or neither (no SMS)');
    }
    const mailFrom = env.MAIL_FROM ?? 'Une fois <no-reply@une-fois.localhost>';
    if (this.production && options.sendsReminders) {
      // Mail from a .localhost domain is junk to every receiver, and a plain-text hop exposes citizens' addresses.
      if (env.MAIL_FROM && /[.@]localhost>?$/i.test(env.MAIL_FROM.trim())) {
        problems.push('MAIL_FROM: a .localhost sender in production; give the deployment’s own domain');
      }
      if (env.SMS_PROVIDER_URL && !env.SMS_PROVIDER_URL.startsWith('https://')) {
        problems.push('SMS_PROVIDER_URL: must be an https:// URL in production');
      }
      if (env.BAROMETER_URL && !env.BAROMETER_URL.startsWith('https://')) {
        problems.push('BAROMETER_URL: must be an https:// URL in production');
      }
    }
    this.reminders = {
      sweepMs: env.REMINDER_SWEEP_SECONDS * 1000,
      concurrency: env.REMINDER_CONCURRENCY,
      inFlight: env.REMINDER_IN_FLIGHT,
      attempts: env.REMINDER_ATTEMPTS,
      backoffMs: env.REMINDER_BACKOFF_SECONDS * 1000,
      leaseMs: env.REMINDER_LEASE_SECONDS * 1000,
      sendTimeoutMs: env.REMINDER_SEND_TIMEOUT_SECONDS * 1000,
      smtpUrl: env.SMTP_URL ?? null,
      smtpRequireTls: this.production && !!env.SMTP_URL?.startsWith('smtp://'),
      mailFrom,
      sms:
        env.SMS_PROVIDER_URL && env.SMS_PROVIDER_KEY
          ? { url: env.SMS_PROVIDER_URL, key: env.SMS_PROVIDER_KEY }
          : null,
    };
    this.masterKeys = env.MASTER_KEYS
      ? parseMasterKeys(env.MASTER_KEYS, problems)
      : [{ id: 'dev', version: 1, key: devSecret('master-key') }];
    if (env.PAIRWISE_SECRET && env.PAIRWISE_SECRET.length < 32) {
      problems.push('PAIRWISE_SECRET: must be at least 32 characters');
    }
    this.pairwiseSecret = env.PAIRWISE_SECRET ? Buffer.from(env.PAIRWISE_SECRET) : devSecret('pairwise');
    this.signingKeys = env.SIGNING_KEYS
      ? parseSigningKeys('SIGNING_KEYS', env.SIGNING_KEYS, problems)
      : [devEd25519Jwk('dev-signing')];
    this.accessTokenKeys = options.issuesAccessTokens
      ? env.ACCESS_TOKEN_SIGNING_KEYS
        ? parseSigningKeys('ACCESS_TOKEN_SIGNING_KEYS', env.ACCESS_TOKEN_SIGNING_KEYS, problems)
        : [devEd25519Jwk('dev-access-token')]
      : null;
    if (this.accessTokenKeys?.some((key) => this.signingKeys.some((other) => samePublicKey(key, other)))) {
      problems.push('ACCESS_TOKEN_SIGNING_KEYS: must not hold a key of SIGNING_KEYS (one key per role)');
    }
    this.bodyLimitBytes = env.BODY_LIMIT_BYTES;
    this.logLevel = env.LOG_LEVEL;
  }

  /** Every problem of the environment in one error, each naming its variable. */
  static fromEnvironment(raw: Record<string, string | undefined>, options: ConfigOptions = {}): AppConfig {
    const problems: string[] = [];
    const config = new AppConfig(readEnv(raw, problems, options), problems, options, !!raw.NODE_ENV);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function parseMasterKeys(value: string, problems: string[]): MasterKey[] {
  const keys: MasterKey[] = [];
  value.split(',').forEach((entry, index) => {
    const match = /^([A-Za-z0-9_-]+):(\d+):([A-Za-z0-9+/=_-]+)$/.exec(entry.trim());
    const key = match ? Buffer.from(match[3], 'base64') : null;
    if (!match || key?.length !== 32) {
      problems.push(`MASTER_KEYS: entry ${index + 1} must be id:version:base64 of 32 bytes`);
      return;
    }
    keys.push({ id: match[1], version: Number(match[2]), key: key! });
  });
  const seen = new Set(keys.map((k) => `${k.id}:${k.version}`));
  if (seen.size !== keys.length) problems.push('MASTER_KEYS: a key id and version appears twice');
  return keys;
}

function parseSigningKeys(variable: string, value: string, problems: string[]): JsonWebKey[] {
  let keys: unknown;
  try {
    keys = JSON.parse(value);
  } catch {
    problems.push(`${variable}: must be a JSON array of private JWKs`);
    return [];
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push(`${variable}: must be a non-empty JSON array of private JWKs`);
    return [];
  }
  return keys.filter((key: JsonWebKey & { kid?: string }, index) => {
    const supported =
      (key?.kty === 'EC' && key.crv === 'P-256') || (key?.kty === 'OKP' && key.crv === 'Ed25519');
    if (!supported || !key.d || !key.kid) {
      problems.push(`${variable}: key ${index + 1} must be a private EC P-256 or Ed25519 JWK with a kid`);
      return false;
    }
    return true;
  });
}

function samePublicKey(a: JsonWebKey, b: JsonWebKey): boolean {
  return a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y;
}

/** A fixed secret for development and tests; production refuses to boot without real ones. */
function devSecret(label: string): Buffer {
  return createHash('sha256').update(`une-fois development ${label}`).digest();
}

/** A deterministic Ed25519 key for development, so every process and the CLI agree on it. */
export function devEd25519Jwk(label: string): JsonWebKey {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), devSecret(label)]);
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  return { ...jwk, kid: `${label}-1`, alg: 'EdDSA', use: 'sig' } as JsonWebKey;
}
