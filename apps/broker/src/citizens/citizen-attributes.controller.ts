import { Body, Controller, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsDefined } from 'class-validator';
import type { ServicePrincipal } from '#libs/identity';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { AuthoritativeWritesService } from './authoritative-writes.service.js';

export class WriteAttributeDto {
  @ApiProperty({ description: 'The value, checked against the attribute’s catalogue type' })
  @IsDefined()
  value: unknown;
}

@ApiTags('authoritative writes')
@ApiBearerAuth()
@Controller('v1/citizens')
export class CitizenAttributesController {
  constructor(private readonly writes: AuthoritativeWritesService) {}

  @Put(':ppid/attributes/:attribute')
  @Authorize('write right on the attribute (the service is its official source)')
  write(
    @CurrentService() service: ServicePrincipal,
    @Param('ppid') ppid: string,
    @Param('attribute') attribute: string,
    @Body() body: WriteAttributeDto,
  ) {
    return this.writes.write(service, ppid, attribute, body.value);
  }
}
