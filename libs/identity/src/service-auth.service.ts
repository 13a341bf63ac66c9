import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  type CryptoKey,
  type JWK,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { DataSource } from 'typeorm';
import {
  DEMO_KEY_THUMBPRINTS,
  jwkThumbprint,
  RegistryService,
  type ServiceDefinition,
} from '#libs/catalogue';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { DomainError } from '#libs/errors';
import { checkedFetch } from '#libs/outbound';

/** Signature algorithms a service may sign its client assertions with: never `none`, never HS*. */
export const CLIENT_ASSERTION_ALGORITHMS = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
export const ACCESS_TOKEN_TTL_SECONDS = 300;
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
const CLOCK_SKEW_SECONDS = 60;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ServicePrincipal {
  serviceId: string;
  organisationId: string;
}

export interface TokenRequest {
  grant_type?: unknown;
  client_assertion_type?: unknown;
  client_assertion?: unknown;
  client_id?: unknown;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/**
 * OAuth 2.0 client credentials with private_key_jwt (RFC 7523): a service
 * proves itself with an assertion signed by a key of its registered JWKS and
 * gets a short-lived access token signed by the broker's own access-token key
 * (ACCESS_TOKEN_SIGNING_KEYS), never by the platform's output key, which the
 * vault and the scheduler hold too.
 */
@Injectable()
export class ServiceAuthService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ServiceAuthService.name);
  private readonly remoteKeys = new Map<string, JWTVerifyGetKey>();
  private readonly localKeys = new WeakMap<object, JWTVerifyGetKey>();
  private readonly tokenSigner: PlatformSigner;
  private readonly tokenKeys: JWTVerifyGetKey;
  private sweeper: NodeJS.Timeout | null = null;
  /** Tokens already verified, until they expire: a service reuses its token for up to 5 minutes. */
  private readonly verified = new Map<string, { serviceId: string; organisationId: string; exp: number }>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly config: AppConfig,
  ) {
    if (!config.accessTokenKeys) {
      throw new Error(
        'Service authentication needs the access-token keys: only the broker reads them (ConfigModule.forRoot(env, { issuesAccessTokens: true }))',
      );
    }
    this.tokenSigner = new PlatformSigner(config.accessTokenKeys);
    this.tokenKeys = createLocalJWKSet(this.tokenSigner.jwks());
  }

  get tokenEndpoint(): string {
    return `${this.config.urls.broker}/oauth/token`;
  }

  onModuleInit(): void {
    // Remembered jti values are only needed until their assertion expires.
    this.sweeper = setInterval(() => {
      this.dataSource
        .query(`DELETE FROM client_assertion_jti WHERE expires_at < now() - interval '5 minutes'`)
        .catch((error: Error) => this.logger.warn(`jti sweep failed: ${error.message}`));
    }, 5 * 60_000);
    this.sweeper.unref();
  }

  onModuleDestroy(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  async exchange(request: TokenRequest): Promise<TokenResponse> {
    if (request.grant_type !== 'client_credentials') {
      throw new DomainError('unsupported_grant_type', 'grant_type must be client_credentials.');
    }
    if (request.client_assertion_type !== JWT_BEARER || typeof request.client_assertion !== 'string') {
      throw new DomainError(
        'invalid_request',
        `client_assertion_type must be ${JWT_BEARER}, with a client_assertion.`,
      );
    }
    const principal = await this.verifyAssertion(request.client_assertion, request.client_id);
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await this.tokenSigner.signJson(
      {
        iss: this.config.urls.broker,
        aud: this.config.urls.broker,
        sub: principal.serviceId,
        client_id: principal.serviceId,
        org: principal.organisationId,
        iat: now,
        exp: now + ACCESS_TOKEN_TTL_SECONDS,
        jti: randomUUID(),
      },
      'at+jwt',
    );
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS };
  }

  /** The service behind a bearer access token; the token is bound to it. */
  async authenticate(authorization: string | undefined): Promise<ServicePrincipal> {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i.exec(authorization ?? '');
    if (!match)
      throw new DomainError('unauthenticated', 'An access token from POST /oauth/token is required.');
    const known = this.verified.get(match[1]);
    if (known && known.exp > Date.now() / 1000)
      return this.stillRegistered(known.serviceId, known.organisationId);
    try {
      const { payload } = await jwtVerify(match[1], this.tokenKeys, {
        issuer: this.config.urls.broker,
        audience: this.config.urls.broker,
        typ: 'at+jwt',
        algorithms: ['ES256', 'EdDSA'],
        requiredClaims: ['sub', 'exp', 'org'],
      });
      const principal = this.stillRegistered(String(payload.sub), String(payload.org));
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(match[1], { ...principal, exp: payload.exp! });
      return principal;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError('unauthenticated', 'The access token is invalid or expired.');
    }
  }

  /** A token outlives no registry change: its service must still be registered, in the same organisation. */
  private stillRegistered(serviceId: string, organisationId: string): ServicePrincipal {
    const service = this.registry.current().service(serviceId);
    if (!service || service.organisation !== organisationId) {
      throw new DomainError('unauthenticated', 'The service of this token is no longer registered.');
    }
    return { serviceId: service.id, organisationId: service.organisation };
  }

  private async verifyAssertion(assertion: string, clientId: unknown): Promise<ServicePrincipal> {
    const refuse = (why: string): never => {
      throw new DomainError('invalid_client', why);
    };
    let issuer: unknown;
    try {
      const header = decodeProtectedHeader(assertion);
      if (!CLIENT_ASSERTION_ALGORITHMS.includes(String(header.alg)))
        refuse(`Algorithm ${String(header.alg)} is not accepted.`);
      issuer = decodeJwt(assertion).iss;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      refuse('The client assertion is not a JWT.');
    }
    const service = typeof issuer === 'string' ? this.registry.current().service(issuer) : undefined;
    if (!service) return refuse('Unknown client.');
    if (clientId !== undefined && clientId !== service.id) refuse('client_id does not match the assertion.');
    let payload: { exp?: number; iat?: number; jti?: unknown };
    let key: CryptoKey | Uint8Array;
    try {
      ({ payload, key } = await jwtVerify(assertion, await this.keysOf(service), {
        issuer: service.id,
        subject: service.id,
        audience: [this.tokenEndpoint, this.config.urls.broker],
        algorithms: CLIENT_ASSERTION_ALGORITHMS,
        requiredClaims: ['exp', 'jti', 'sub', 'aud'],
        clockTolerance: CLOCK_SKEW_SECONDS,
      }));
    } catch (error) {
      return refuse(`The client assertion was refused: ${(error as Error).message}`);
    }
    // Applying a registry refuses them in production, but one applied earlier, or served by a jwks_uri, may hold them.
    if (this.config.production && (await isDemoKey(key))) {
      refuse('The client assertion is signed with a demo key (config/demo), which production never accepts.');
    }
    const now = Math.floor(Date.now() / 1000);
    // At most 5 minutes ahead, give or take the clock skew allowed between the service and the platform.
    if (payload.exp! > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
      refuse('The client assertion expires more than 5 minutes ahead.');
    }
    if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_SKEW_SECONDS)
      refuse('The client assertion is issued in the future.');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200)
      refuse('jti is required.');
    // Single use, remembered in PostgreSQL until expiry: also across restarts and replicas.
    const inserted: unknown[] = await this.dataSource.query(
      `INSERT INTO client_assertion_jti (service_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3))
       ON CONFLICT DO NOTHING RETURNING jti`,
      [service.id, payload.jti, payload.exp! + CLOCK_SKEW_SECONDS],
    );
    if (inserted.length === 0) refuse('This client assertion was already used.');
    return { serviceId: service.id, organisationId: service.organisation };
  }

  private async keysOf(service: ServiceDefinition): Promise<JWTVerifyGetKey> {
    if (service.jwks) {
      let keys = this.localKeys.get(service.jwks);
      if (!keys) {
        keys = createLocalJWKSet(service.jwks as { keys: JWK[] });
        this.localKeys.set(service.jwks, keys);
      }
      return keys;
    }
    const uri = service.jwks_uri!;
    let keys = this.remoteKeys.get(uri);
    if (!keys) {
      // Every fetch of the key set, not only the first, is checked as a webhook is: a name
      // that later resolves to a private address is refused when connecting (DNS rebinding).
      keys = createRemoteJWKSet(new URL(uri), {
        cooldownDuration: this.config.jwksRefetchCooldownMs,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: 5000,
        [customFetch]: checkedFetch({ production: this.config.production, timeoutMs: 5000 }),
      });
      this.remoteKeys.set(uri, keys);
    }
    return keys;
  }
}

/** A key whose private half is committed under config/demo. */
async function isDemoKey(key: CryptoKey | Uint8Array): Promise<boolean> {
  if (key instanceof Uint8Array) return false;
  const thumbprint = jwkThumbprint((await exportJWK(key)) as Record<string, unknown>);
  return thumbprint !== null && DEMO_KEY_THUMBPRINTS.has(thumbprint);
}
