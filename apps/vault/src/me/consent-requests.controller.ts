import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ConsentRequestsService } from '#libs/consent';
import type { Citizen } from '#libs/vault';
import { CurrentCitizen } from '../auth/citizen-auth.guard.js';

@ApiTags('consent requests')
@ApiBearerAuth()
@Controller('v1/me/consent-requests')
export class ConsentRequestsController {
  constructor(private readonly requests: ConsentRequestsService) {}

  /** Requests from services addressed to the citizen and still awaiting an answer. */
  @Get()
  pending(@CurrentCitizen() citizen: Citizen) {
    return this.requests.listPending(citizen.id);
  }

  /** One request: who asks, what, why, for how long (reached from its approval link). */
  @Get(':id')
  get(@CurrentCitizen() citizen: Citizen, @Param('id') id: string) {
    return this.requests.get(citizen.id, id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  approve(@CurrentCitizen() citizen: Citizen, @Param('id') id: string) {
    return this.requests.approve(citizen.id, id);
  }

  @Post(':id/deny')
  @HttpCode(200)
  deny(@CurrentCitizen() citizen: Citizen, @Param('id') id: string) {
    return this.requests.deny(citizen.id, id);
  }
}
