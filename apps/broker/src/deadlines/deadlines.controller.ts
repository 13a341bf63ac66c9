import { Body, Controller, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';
import type { ServicePrincipal } from '#libs/identity';
import { DeadlinesService } from '#libs/reminders';
import { Authorize, CurrentService } from '../auth/service-auth.guard.js';
import { CreateDeadlineDto, deadlineForService, UpdateDeadlineDto } from './deadline.dto.js';

@ApiTags('deadlines')
@ApiBearerAuth()
@Controller('v1/deadlines')
export class DeadlinesController {
  constructor(
    private readonly deadlines: DeadlinesService,
    private readonly config: AppConfig,
  ) {}

  /** Registers a deadline; the same externalRef again answers the same deadline (moved to a new dueAt). */
  @Post()
  @HttpCode(201)
  @Authorize('deadline kinds listed in the registry entry; citizens known to the organisation')
  async create(@CurrentService() service: ServicePrincipal, @Body() body: CreateDeadlineDto) {
    if (body.actionUrl && this.config.production && !body.actionUrl.startsWith('https://'))
      throw new DomainError('validation_failed', 'actionUrl must be https.', [
        { field: 'actionUrl', message: 'must be an https URL' },
      ]);
    const registered = await this.deadlines.register(service, {
      ppid: body.citizen.ppid,
      kind: body.kind,
      dueAt: new Date(body.dueAt),
      title: { fr: body.title.fr, en: body.title.en ?? body.title.fr },
      actionUrl: body.actionUrl ?? null,
      externalRef: body.externalRef ?? null,
    });
    return deadlineForService(registered);
  }

  /** Closes (`status`) or moves (`dueAt`) one of this service's deadlines; asking for what already holds is a 200. */
  @Patch(':id')
  @Authorize('own deadlines only')
  async update(
    @CurrentService() service: ServicePrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateDeadlineDto,
  ) {
    if ((body.status == null) === (body.dueAt == null))
      throw new DomainError('validation_failed', 'Give exactly one of status or dueAt.', [
        { field: 'status', message: 'give exactly one of status or dueAt' },
      ]);
    const changed = await this.deadlines.change(
      service,
      id,
      body.status != null ? { status: body.status } : { dueAt: new Date(body.dueAt!) },
    );
    return deadlineForService(changed);
  }
}
