import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  type JWK,
  jwtVerify,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';

/** Asymmetric algorithms only: `none` and HS* (a public key used as an HMAC secret) are refused. */
const CITIZEN_TOKEN_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'];

export interface CitizenIdentity {
  issuer: string;
  subject: string;
  /** The token's claims, as signed by the issuer (identity claims among them, where it gives them). */
  claims: Record<string, unknown>;
}

/** How long the issuer's keys are kept, and so how long a token verified with them is taken without checking again. */
const KEYS_KEPT_MS = 10 * 60_000;

/**
 * Verifies citizen bearer tokens of the configured OpenID Connect issuer:
 * signature against its JWKS (cached by jose, refetched on an unknown kid),
 * issuer, audience, expiry. A token verified once is taken again without its
 * signature checked until it expires, and for no longer than the issuer's
 * keys are kept: a portal session sends the same token with every page.
 */
@Injectable()
export class CitizenTokenVerifier {
  private readonly keys: JWTVerifyGetKey;
  private readonly verified = new Map<string, { identity: CitizenIdentity; until: number }>();

  constructor(private readonly config: AppConfig) {
    const { jwksUri, devIssuerKey } = config.citizenIssuer;
    if (jwksUri) {
      // Cached; an unknown kid (the issuer rotated its keys) refetches once, at most once per cooldown.
      this.keys = createRemoteJWKSet(new URL(jwksUri), {
        cooldownDuration: config.jwksRefetchCooldownMs,
        cacheMaxAge: KEYS_KEPT_MS,
        timeoutDuration: 5000,
      });
    } else if (devIssuerKey && !config.production) {
      this.keys = createLocalJWKSet(devIssuerJwks(config));
    } else {
      throw new Error('CITIZEN_JWKS_URI is required');
    }
  }

  async verify(authorization: string | undefined): Promise<CitizenIdentity> {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(authorization ?? '');
    if (!match)
      throw new DomainError(
        'unauthenticated',
        'A bearer token from the citizen identity provider is required.',
      );
    const known = this.verified.get(match[1]);
    if (known && known.until > Date.now()) return known.identity;
    const { issuer, audience } = this.config.citizenIssuer;
    try {
      const { payload } = await jwtVerify(match[1], this.keys, {
        issuer,
        audience,
        algorithms: CITIZEN_TOKEN_ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: 60,
      });
      if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 255) {
        throw new DomainError('unauthenticated', 'The token has no usable subject.');
      }
      const identity = { issuer, subject: payload.sub, claims: payload };
      if (this.verified.size >= 10_000) this.verified.clear();
      this.verified.set(match[1], {
        identity,
        until: Math.min(payload.exp! * 1000, Date.now() + KEYS_KEPT_MS),
      });
      return identity;
    } catch (error) {
      if (error instanceof DomainError) throw error;
      throw new DomainError('unauthenticated', describeTokenError(error));
    }
  }
}

function describeTokenError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `The token's ${error.claim} claim is not accepted.`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return 'The token is not signed with an accepted algorithm.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token is signed with an unknown key.';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is invalid.';
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError) {
    return 'The token could not be verified.';
  }
  return 'The token could not be verified.';
}

/** Public keys of the built-in development issuer. */
export function devIssuerJwks(config: AppConfig): { keys: JWK[] } {
  const jwk = config.citizenIssuer.devIssuerKey;
  if (!jwk) return { keys: [] };
  const { d: _d, ...publicPart } = createPublicKey(createPrivateKey({ key: jwk, format: 'jwk' })).export({
    format: 'jwk',
  }) as JWK;
  const kid = (jwk as { kid?: string }).kid;
  return { keys: [{ ...publicPart, kid, alg: 'EdDSA', use: 'sig' }] };
}

/** Mints a citizen token from the built-in development issuer. Refused in production. */
export async function mintDevCitizenToken(
  config: AppConfig,
  subject: string,
  ttlSeconds = 8 * 3600,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const jwk = config.citizenIssuer.devIssuerKey;
  if (config.production || !jwk)
    throw new Error('The development issuer is disabled (production or CITIZEN_JWKS_URI set)');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: (jwk as { kid?: string }).kid, typ: 'JWT' })
    .setIssuer(config.citizenIssuer.issuer)
    .setAudience(config.citizenIssuer.audience)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(createPrivateKey({ key: jwk, format: 'jwk' }));
}
