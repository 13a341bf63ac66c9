import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { ConsentRequestsService } from '#libs/consent';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { assertSafeUrl } from '#libs/outbound';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { CreateConsentRequestDto } from './create-consent-request.dto.js';

@ApiTags('consent requests')
@ApiBearerAuth()
@Controller('v1/consent-requests')
export class ConsentRequestsController {
  constructor(
    private readonly requests: ConsentRequestsService,
    private readonly pairwise: PairwiseIds,
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Asks a citizen for consent; the terms must be within the service's registry rights. */
  @Post()
  @Authorize('own rights: every attribute readable by this service for this purpose')
  async create(@CurrentService() service: ServicePrincipal, @Body() body: CreateConsentRequestDto) {
    if (body.callbackUrl) {
      await assertSafeUrl(body.callbackUrl, this.config.production).catch((error: Error) => {
        throw new DomainError('validation_failed', error.message, [
          { field: 'callbackUrl', message: error.message },
        ]);
      });
    }
    const citizenId = body.citizen
      ? await this.pairwise.require(this.dataSource.manager, service.organisationId, body.citizen.ppid)
      : null;
    const request = await this.requests.create({ ...body, service: service.serviceId, citizenId });
    const view = await this.requests.getForService(service.serviceId, request.id);
    return { id: view.id, status: view.status, approvalUrl: view.approvalUrl, expiresAt: view.expiresAt };
  }

  @Get(':id')
  @Authorize('own requests only')
  get(@CurrentService() service: ServicePrincipal, @Param('id') id: string) {
    return this.requests.getForService(service.serviceId, id);
  }
}
