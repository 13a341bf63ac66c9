import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { PlatformSigner } from '#libs/crypto';
import type { ServicePrincipal } from '#libs/identity';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { DataRequestDto } from './data-request.dto.js';
import { DataRequestsService } from './data-requests.service.js';

@ApiTags('data requests')
@ApiBearerAuth()
@Controller('v1/data-requests')
export class DataRequestsController {
  constructor(
    private readonly dataRequests: DataRequestsService,
    private readonly signer: PlatformSigner,
  ) {}

  /**
   * Released values with their source, what was withheld and why. The body
   * is signed: `x-jws-signature` is a detached JWS (RFC 7515 appendix F) over
   * its exact bytes, verifiable with /.well-known/jwks.json.
   */
  @Post()
  @HttpCode(200)
  @Authorize('rule 1: registry right for the purpose, and a consent or legal basis, per attribute')
  async request(
    @CurrentService() service: ServicePrincipal,
    @Body() body: DataRequestDto,
    @Res() response: Response,
  ) {
    const result = await this.dataRequests.handle(service, {
      ppid: body.citizen.ppid,
      purpose: body.purpose,
      attributes: body.attributes,
    });
    const bytes = JSON.stringify(result);
    response
      .status(200)
      .type('application/json')
      .setHeader('x-jws-signature', await this.signer.signDetached(bytes))
      .setHeader('cache-control', 'no-store')
      .send(bytes);
  }
}
