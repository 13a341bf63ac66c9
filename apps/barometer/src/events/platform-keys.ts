import { Injectable } from '@nestjs/common';
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { AppConfig } from '#libs/config';
import { checkedFetch } from '#libs/outbound';

/**
 * The platform's public keys (PLATFORM_JWKS_URL), fetched when needed and
 * cached; an unknown `kid` fetches them again, no more often than
 * JWKS_REFETCH_COOLDOWN_SECONDS, so a key rotation is picked up and a flood
 * of forged kids is not a flood of fetches.
 */
@Injectable()
export class PlatformKeys {
  readonly keys: JWTVerifyGetKey;

  constructor(config: AppConfig) {
    this.keys = createRemoteJWKSet(new URL(config.platformJwksUrl), {
      cooldownDuration: config.jwksRefetchCooldownMs,
      cacheMaxAge: 10 * 60_000,
      timeoutDuration: 5000,
      [customFetch]: checkedFetch({ production: config.production, timeoutMs: 5000 }),
    });
  }
}
