/**
 * Queue and job names, in one place, with each job's queue and payload
 * parser. Braces are Redis Cluster hash tags: all keys of a queue land on one
 * slot. Job data holds ids, never personal data.
 */
export const QUEUES = {
  webhooks: '{webhooks}',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  deliverWebhook: 'deliver-webhook',
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

/** What each job carries. */
export interface JobPayloads {
  [JOBS.deliverWebhook]: DeliverWebhookJob;
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
};

export function parseDeliverWebhookJob(data: unknown): DeliverWebhookJob {
  const { eventId, claim } = (data ?? {}) as { eventId?: unknown; claim?: unknown };
  if (typeof eventId !== 'string' || !/^[0-9a-f-]{36}$/i.test(eventId)) {
    throw new Error(`${JOBS.deliverWebhook} job without a valid eventId`);
  }
  if (
    typeof claim !== 'string' ||
    !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(claim) ||
    isNaN(Date.parse(claim))
  ) {
    throw new Error(`${JOBS.deliverWebhook} job without a valid claim`);
  }
  return { eventId, claim };
}
