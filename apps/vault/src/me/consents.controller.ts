import { Body, Controller, Delete, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ConsentsService } from '#libs/consent';
import { preferredLanguage } from '#libs/http';
import type { Citizen } from '#libs/vault';
import { CurrentCitizen } from '../auth/citizen-auth.guard.js';
import { GrantConsentDto } from './dto/grant-consent.dto.js';

@ApiTags('consents')
@ApiBearerAuth()
@Controller('v1/me/consents')
export class ConsentsController {
  constructor(private readonly consents: ConsentsService) {}

  @Get()
  list(@CurrentCitizen() citizen: Citizen) {
    return this.consents.list(citizen.id);
  }

  @Post()
  grant(@CurrentCitizen() citizen: Citizen, @Body() body: GrantConsentDto) {
    return this.consents.grant(citizen.id, body);
  }

  @Delete(':id')
  revoke(@CurrentCitizen() citizen: Citizen, @Param('id') id: string) {
    return this.consents.revoke(citizen.id, id);
  }

  /** Compact JWS, verifiable with /.well-known/jwks.json; in the language asked for, else the citizen's. */
  @Get(':id/receipt')
  async receipt(
    @CurrentCitizen() citizen: Citizen,
    @Param('id') id: string,
    @Headers('accept-language') acceptLanguage: string | undefined,
    @Res() response: FastifyReply,
  ): Promise<void> {
    const language = acceptLanguage ? preferredLanguage(acceptLanguage) : citizen.language;
    response.type('application/jose').send(await this.consents.receipt(citizen.id, id, language));
  }
}
