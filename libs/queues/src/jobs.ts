/**
 * Queue and job names, in one place, with each job's queue and payload
 * parser. Braces are Redis Cluster hash tags: all keys of a queue land on one
 * slot. Job data holds ids, never personal data.
 */
export const QUEUES = {
  webhooks: '{webhooks}',
  reminders: '{reminders}',
  /** The reminder sweep alone, one at a time: it never waits behind sends nor takes a send's slot. */
  reminderSweeps: '{reminder-sweeps}',
  /** Batches of metric events on their way to the barometer. */
  metrics: '{metrics}',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  deliverWebhook: 'deliver-webhook',
  /** Fired by the reminder-sweeps queue's job scheduler: moves due reminder rows into the reminders queue. */
  sweepReminders: 'sweep-reminders',
  sendReminder: 'send-reminder',
  deliverMetrics: 'deliver-metrics',
} as const;

export type JobName = (typeof JOBS)[keyof typeof JOBS];

export interface DeliverWebhookJob {
  eventId: string;
  /**
   * The claim this job was queued for: the end of its lease, as the relay set
   * it (ISO 8601, to the millisecond). A job whose claim is no longer the
   * event's current one does not deliver.
   */
  claim: string;
}

/** A batch of metric events claimed together: their ids and the claim, as for a webhook. */
export interface DeliverMetricsJob {
  eventIds: string[];
  claim: string;
}

export interface SendReminderJob {
  reminderId: string;
}

/** The sweep carries nothing: what is due is read from the rows. */
export type SweepRemindersJob = Record<string, never>;

/** What each job carries. */
export interface JobPayloads {
  [JOBS.deliverWebhook]: DeliverWebhookJob;
  [JOBS.sweepReminders]: SweepRemindersJob;
  [JOBS.sendReminder]: SendReminderJob;
  [JOBS.deliverMetrics]: DeliverMetricsJob;
}

export interface JobDefinition<Payload = unknown> {
  queue: string;
  /** Parses a payload before use: a malformed one fails the job, it is not half-processed. */
  parse(data: unknown): Payload;
}

/** Every job the platform runs; the workers refuse to start while one of them has no handler. */
export type JobCatalogue = Record<string, JobDefinition>;

export const JOB_CATALOGUE: { [Name in JobName]: JobDefinition<JobPayloads[Name]> } = {
  [JOBS.deliverWebhook]: { queue: QUEUES.webhooks, parse: parseDeliverWebhookJob },
  [JOBS.sweepReminders]: { queue: QUEUES.reminderSweeps, parse: parseSweepRemindersJob },
  [JOBS.sendReminder]: { queue: QUEUES.reminders, parse: parseSendReminderJob },
  [JOBS.deliverMetrics]: { queue: QUEUES.metrics, parse: parseDeliverMetricsJob },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Refuses anything but an object holding exactly `keys`. */
function onlyKeys(job: string, data: unknown, keys: string[]): Record<string, unknown> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${job} job data must be an object`);
  }
  const extra = Object.keys(data).filter((key) => !keys.includes(key));
  if (extra.length > 0) throw new Error(`${job} job with unexpected fields: ${extra.join(', ')}`);
  return data as Record<string, unknown>;
}

export function parseSendReminderJob(data: unknown): SendReminderJob {
  const { reminderId } = onlyKeys(JOBS.sendReminder, data, ['reminderId']);
  if (typeof reminderId !== 'string' || !UUID.test(reminderId)) {
    throw new Error(`${JOBS.sendReminder} job without a valid reminderId`);
  }
  return { reminderId };
}

export function parseSweepRemindersJob(data: unknown): SweepRemindersJob {
  onlyKeys(JOBS.sweepReminders, data, []);
  return {};
}

export function parseDeliverWebhookJob(data: unknown): DeliverWebhookJob {
  const { eventId, claim } = (data ?? {}) as { eventId?: unknown; claim?: unknown };
  if (typeof eventId !== 'string' || !/^[0-9a-f-]{36}$/i.test(eventId)) {
    throw new Error(`${JOBS.deliverWebhook} job without a valid eventId`);
  }
  return { eventId, claim: parseClaim(JOBS.deliverWebhook, claim) };
}

/** At most this many events per batch job: what one barometer request carries (MAX_METRIC_EVENTS_PER_BATCH). */
export const MAX_METRIC_JOB_EVENTS = 500;

export function parseDeliverMetricsJob(data: unknown): DeliverMetricsJob {
  const { eventIds, claim } = onlyKeys(JOBS.deliverMetrics, data, ['eventIds', 'claim']);
  if (
    !Array.isArray(eventIds) ||
    eventIds.length === 0 ||
    eventIds.length > MAX_METRIC_JOB_EVENTS ||
    !eventIds.every((id) => typeof id === 'string' && UUID.test(id))
  ) {
    throw new Error(`${JOBS.deliverMetrics} job without valid eventIds`);
  }
  return { eventIds: eventIds as string[], claim: parseClaim(JOBS.deliverMetrics, claim) };
}

/** A claim's lease end, ISO 8601 to the millisecond, as the relay sets it. */
function parseClaim(job: string, claim: unknown): string {
  if (
    typeof claim !== 'string' ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(claim) ||
    isNaN(Date.parse(claim))
  ) {
    throw new Error(`${job} job without a valid claim`);
  }
  return claim;
}
