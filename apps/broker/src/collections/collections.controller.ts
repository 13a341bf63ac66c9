import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { ServicePrincipal } from '#libs/identity';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { CitizenRefDto, IsCitizenRef } from '../citizen-ref.dto.js';
import { CollectionsService } from './collections.service.js';
import { IsAttributeCodeList } from '#libs/catalogue';

export class CollectionDto {
  @IsCitizenRef()
  citizen: CitizenRefDto;

  @IsAttributeCodeList(['address.residential'])
  attributes: string[];
}

@ApiTags('collections')
@ApiBearerAuth()
@Controller('v1/collections')
export class CollectionsController {
  constructor(private readonly collections: CollectionsService) {}

  @Post()
  @HttpCode(200)
  @Authorize('own report about a citizen known to the organisation')
  report(@CurrentService() service: ServicePrincipal, @Body() body: CollectionDto) {
    return this.collections.report(service, body.citizen.ppid, body.attributes);
  }
}
