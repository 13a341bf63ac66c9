import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PlatformSigner } from '#libs/crypto';
import type { ServicePrincipal } from '#libs/identity';
import { DATA_RESPONSE_TYP, ReleaseService } from '#libs/release';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { DataRequestDto } from './data-request.dto.js';

@ApiTags('data requests')
@ApiBearerAuth()
@Controller('v1/data-requests')
export class DataRequestsController {
  constructor(
    private readonly release: ReleaseService,
    private readonly signer: PlatformSigner,
  ) {}

  /**
   * Released values with their source, what was withheld and why, about
   * which citizen, for which service and purpose, and when. The body is
   * signed: `x-jws-signature` is a detached JWS (RFC 7515 appendix F, `typ`
   * data-response+json) over its exact bytes, verifiable with
   * /.well-known/jwks.json (verifyDataResponse in #libs/release).
   */
  @Post()
  @HttpCode(200)
  @Authorize('rule 1: registry right for the purpose, and a consent or legal basis, per attribute')
  async request(
    @CurrentService() service: ServicePrincipal,
    @Body() body: DataRequestDto,
    @Res() response: FastifyReply,
  ) {
    const result = await this.release.handle(service, {
      ppid: body.citizen.ppid,
      purpose: body.purpose,
      attributes: body.attributes,
    });
    const bytes = JSON.stringify(result);
    response
      .status(200)
      .type('application/json')
      .header('x-jws-signature', await this.signer.signDetached(bytes, { typ: DATA_RESPONSE_TYP }))
      .header('cache-control', 'no-store')
      .send(bytes);
  }
}
