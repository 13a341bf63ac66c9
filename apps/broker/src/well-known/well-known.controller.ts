import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PlatformSigner } from '#libs/crypto';
import { Public } from '#libs/http';

@Public()
@ApiTags('keys')
@Controller('.well-known')
export class WellKnownController {
  constructor(private readonly signer: PlatformSigner) {}

  /** The keys that verify data-request responses and webhooks (access tokens have a key of their own, checked only by the broker). */
  @Get('jwks.json')
  jwks() {
    return this.signer.jwks();
  }
}
