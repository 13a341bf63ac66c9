/**
 * Queue and job names, in one place. Braces are Redis Cluster hash tags: all
 * keys of a queue land on one slot. Job data holds event ids, never personal data.
 */
export const QUEUES = {
  webhooks: '{webhooks}',
} as const;

export const JOBS = {
  deliverWebhook: 'deliver-webhook',
} as const;

export interface DeliverWebhookJob {
  eventId: string;
}

/** Parses a job payload before use: a malformed one is dropped, not half-processed. */
export function parseDeliverWebhookJob(data: unknown): DeliverWebhookJob {
  const eventId = (data as { eventId?: unknown } | null)?.eventId;
  if (typeof eventId !== 'string' || !/^[0-9a-f-]{36}$/i.test(eventId)) {
    throw new Error('deliver-webhook job without a valid eventId');
  }
  return { eventId };
}
