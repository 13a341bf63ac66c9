import { Foundation1764000000000 } from './1764000000000-foundation.js';
import { Broker1764100000000 } from './1764100000000-broker.js';
import { AccessLogCheckpoints1764200000000 } from './1764200000000-access-log-checkpoints.js';
import { OutboxLeases1764310000000 } from './1764310000000-outbox-leases.js';
import { RegistryAppliedBy1764320000000 } from './1764320000000-registry-applied-by.js';
import { ErasureRegister1764350000000 } from './1764350000000-erasure-register.js';
import { Reminders1764400000000 } from './1764400000000-reminders.js';
import { CalendarFeed1764410000000 } from './1764410000000-calendar-feed.js';
import { ReminderLeaseIndex1764420000000 } from './1764420000000-reminder-lease-index.js';
import { ReleaseSummaries1764500000000 } from './1764500000000-release-summaries.js';
import { OneAccessLogTimeIndex1764600000000 } from './1764600000000-one-access-log-time-index.js';

/** Every migration, oldest first. A new migration is added here by hand after review. */
export const MIGRATIONS = [
  Foundation1764000000000,
  Broker1764100000000,
  AccessLogCheckpoints1764200000000,
  OutboxLeases1764310000000,
  RegistryAppliedBy1764320000000,
  ErasureRegister1764350000000,
  Reminders1764400000000,
  CalendarFeed1764410000000,
  ReminderLeaseIndex1764420000000,
  ReleaseSummaries1764500000000,
  OneAccessLogTimeIndex1764600000000,
];
