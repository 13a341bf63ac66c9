import { Body, Controller, Header, Headers, HttpCode, Post } from '@nestjs/common';
import { ApiConsumes, ApiTags } from '@nestjs/swagger';
import { DomainError } from '#libs/errors';
import { Public } from '#libs/http';
import { ServiceAuthService, type TokenRequest } from '#libs/identity';

@Public()
@ApiTags('authentication')
@Controller('oauth')
export class TokenController {
  constructor(private readonly auth: ServiceAuthService) {}

  /** OAuth 2.0 client credentials with private_key_jwt (RFC 7523); form-encoded. */
  @Post('token')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiConsumes('application/x-www-form-urlencoded')
  token(@Body() body: TokenRequest, @Headers('content-type') contentType: string | undefined) {
    if (!/^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')) {
      throw new DomainError(
        'invalid_request',
        'The token request must be form-encoded (application/x-www-form-urlencoded).',
      );
    }
    return this.auth.exchange(body ?? {});
  }
}
