export { Deadline, type DeadlineStatus } from './deadline.entity.js';
export {
  type DeliveryStatus,
  Reminder,
  ReminderDelivery,
  REMINDER_STATUSES,
  type ReminderStatus,
} from './reminder.entity.js';
export { RemindersModule } from './reminders.module.js';
export { type CalendarDeadline, deadlineCalendar } from './calendar.js';
export { CalendarFeedsService } from './calendar-feeds.service.js';
export {
  type DeadlineChange,
  DeadlinesService,
  type DeadlineWithReminders,
  type NewDeadline,
} from './deadlines.service.js';
export {
  inQuietHours,
  placeOutOfQuietHours,
  type PlannedReminder,
  planReminders,
  PLANNING_ZONE,
  type QuietWindow,
  replanReminder,
} from './planning.js';
export { ReminderDeliveryModule } from './delivery/reminder-delivery.module.js';
export {
  type DeliveryOutcome,
  errorCategory,
  ReminderDeliveryService,
  TransientDeliveryError,
} from './delivery/reminder-delivery.service.js';
export { NO_ATTEMPT_LEFT, ReminderSweeper } from './delivery/reminder-sweeper.service.js';
