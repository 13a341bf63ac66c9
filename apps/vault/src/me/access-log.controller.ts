import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AccessLogService } from '#libs/access-log';
import type { Citizen } from '#libs/vault';
import { CurrentCitizen } from '../auth/citizen-auth.guard.js';
import { accessLogView } from './citizen-data.service.js';
import { AccessLogQueryDto } from './dto/access-log-query.dto.js';

@ApiTags('access log')
@ApiBearerAuth()
@Controller('v1/me/access-log')
export class AccessLogController {
  constructor(private readonly accessLog: AccessLogService) {}

  /** Who accessed what, when and why, newest first; `head` lets the citizen check the chain. */
  @Get()
  async list(@CurrentCitizen() citizen: Citizen, @Query() query: AccessLogQueryDto) {
    const page = await this.accessLog.page(citizen.id, query.limit ?? 50, query.before);
    return { entries: page.entries.map(accessLogView), head: page.head, nextBefore: page.nextBefore };
  }
}
