import { Controller, Delete, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsUUID } from 'class-validator';
import { RegistryService } from '#libs/catalogue';
import { NotificationsService } from '#libs/channels';
import { AppConfig, Clock } from '#libs/config';
import { CalendarFeedsService, deadlineCalendar, DeadlinesService } from '#libs/reminders';
import type { Citizen } from '#libs/vault';
import { CurrentCitizen } from '../auth/citizen-auth.guard.js';
import { PageLimit } from '../seq-page-query.dto.js';
import { deadlineView, notificationView } from './dto/deadline-view.js';

export class NotificationPageQueryDto {
  @PageLimit()
  limit?: number;

  @ApiPropertyOptional({ description: 'Notifications older than this one (the previous page’s nextBefore)' })
  @IsOptional()
  @IsUUID()
  before?: string;
}

@ApiTags('deadlines and reminders')
@ApiBearerAuth()
@Controller('v1/me')
export class DeadlinesController {
  constructor(
    private readonly deadlines: DeadlinesService,
    private readonly notifications: NotificationsService,
    private readonly registry: RegistryService,
    private readonly clock: Clock,
    private readonly feeds: CalendarFeedsService,
    private readonly config: AppConfig,
  ) {}

  /** The citizen's deadlines by due date, with each reminder, its status and what each channel did. */
  @Get('deadlines')
  async list(@CurrentCitizen() citizen: Citizen) {
    const registry = this.registry.current();
    return { deadlines: (await this.deadlines.forCitizen(citizen.id)).map((d) => deadlineView(d, registry)) };
  }

  /** The same deadlines as an iCalendar feed (RFC 5545) a calendar app can subscribe to, in the citizen's language. */
  @Get('deadlines.ics')
  @Header('content-type', 'text/calendar; charset=utf-8')
  @Header('content-disposition', 'inline; filename="une-fois-echeances.ics"')
  @Header('cache-control', 'private, no-store')
  async calendar(@CurrentCitizen() citizen: Citizen) {
    const deadlines = await this.deadlines.forCitizen(citizen.id);
    return deadlineCalendar(
      deadlines.map(({ deadline }) => deadline),
      citizen.language,
    );
  }

  /**
   * A calendar app's address for the same feed, needing no token: shown
   * this once (only a hash of its secret is kept). Asking again gives a new
   * address and revokes the old one.
   */
  @Post('calendar-feed')
  @HttpCode(201)
  @Header('cache-control', 'private, no-store')
  async createCalendarFeed(@CurrentCitizen() citizen: Citizen) {
    const secret = await this.feeds.create(citizen.id);
    return { url: `${this.config.urls.vault}/v1/calendar-feeds/${secret}.ics` };
  }

  /** The calendar feed's address stops working. */
  @Delete('calendar-feed')
  @HttpCode(204)
  @Header('cache-control', 'private, no-store')
  async revokeCalendarFeed(@CurrentCitizen() citizen: Citizen) {
    await this.feeds.revoke(citizen.id);
  }

  /** Portal notifications, newest first (50 a page by default). */
  @Get('notifications')
  async listNotifications(@CurrentCitizen() citizen: Citizen, @Query() query: NotificationPageQueryDto) {
    const page = await this.notifications.page(citizen.id, query.limit ?? 50, query.before);
    return { notifications: page.notifications.map(notificationView), nextBefore: page.nextBefore };
  }

  @Post('notifications/:id/read')
  @HttpCode(200)
  async markRead(@CurrentCitizen() citizen: Citizen, @Param('id', new ParseUUIDPipe()) id: string) {
    return notificationView(await this.notifications.markRead(citizen.id, id, this.clock.now()));
  }
}
