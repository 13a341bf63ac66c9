import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { DomainError } from '#libs/errors';
import { Public } from '#libs/http';
import { devIssuerJwks } from '#libs/identity';

@Public()
@ApiTags('keys')
@Controller()
export class WellKnownController {
  constructor(
    private readonly signer: PlatformSigner,
    private readonly config: AppConfig,
  ) {}

  /** The keys that verify consent receipts. */
  @Get('.well-known/jwks.json')
  jwks() {
    return this.signer.jwks();
  }

  /** The built-in development issuer's keys; absent when a real issuer is configured. */
  @Get('dev-issuer/.well-known/jwks.json')
  devIssuer() {
    if (this.config.production || !this.config.citizenIssuer.devIssuerKey)
      throw new DomainError(
        'route_not_found',
        'No development issuer here: citizen tokens come from CITIZEN_ISSUER.',
      );
    return devIssuerJwks(this.config);
  }
}
