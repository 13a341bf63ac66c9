import { Controller, Get, Header, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { DomainError } from '#libs/errors';
import { Public } from '#libs/http';
import { CalendarFeedsService } from '#libs/reminders';

/**
 * The citizen's deadlines at a capability URL (`/v1/calendar-feeds/{secret}.ics`),
 * for calendar apps, which cannot send a bearer token: the secret is the
 * authorisation. The citizen creates, replaces and revokes it at
 * `/v1/me/calendar-feed`.
 */
@Public()
@ApiTags('deadlines and reminders')
@Controller('v1/calendar-feeds')
export class CalendarFeedsController {
  constructor(private readonly feeds: CalendarFeedsService) {}

  @Get(':file')
  @Header('content-type', 'text/calendar; charset=utf-8')
  @Header('cache-control', 'private, no-store')
  async feed(@Param('file') file: string) {
    if (!file.endsWith('.ics'))
      throw new DomainError('calendar_feed_not_found', 'No calendar feed at this address.');
    return this.feeds.calendar(file.slice(0, -'.ics'.length));
  }
}
