import icalGenerator, { ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import type { Label } from '#libs/catalogue';
import type { DeadlineStatus } from './deadline.entity.js';

/** What a calendar shows of a deadline: no citizen id, no attribute value. */
export interface CalendarDeadline {
  id: string;
  title: Label;
  dueAt: Date;
  actionUrl: string | null;
  status: DeadlineStatus;
  /** Last change, so a subscribed calendar sees a moved or closed deadline as an update. */
  updatedAt: Date;
}

const CALENDAR_NAME: Label = { fr: 'Mes échéances — Une fois', en: 'My deadlines — Une fois' };

/**
 * An RFC 5545 calendar of deadlines, one event per deadline at its due time,
 * with a stable UID so a calendar app updates an event rather than adding
 * one. A closed deadline stays in the feed as CANCELLED (completed or
 * cancelled alike), so subscribers drop it.
 */
export function deadlineCalendar(deadlines: CalendarDeadline[], language: 'fr' | 'en'): string {
  const calendar = icalGenerator({
    prodId: { company: 'Gouvernement du Québec', product: 'Une fois', language: language.toUpperCase() },
    name: CALENDAR_NAME[language],
    method: ICalCalendarMethod.PUBLISH,
  });
  for (const deadline of deadlines) {
    calendar.createEvent({
      id: `${deadline.id}@une-fois`,
      start: deadline.dueAt,
      end: deadline.dueAt,
      stamp: deadline.updatedAt,
      summary: deadline.title[language],
      url: deadline.actionUrl,
      status: deadline.status === 'open' ? ICalEventStatus.CONFIRMED : ICalEventStatus.CANCELLED,
    });
  }
  return calendar.toString();
}
