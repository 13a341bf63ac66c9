import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { requestChecked } from '#libs/outbound';
import { retryDelayMs } from '#libs/outbox';
import { metricCloudEvent, METRIC_EVENTS_SIGNATURE_HEADER, signMetricEvents } from './metric-events.js';

/** Room, past an attempt's deadline, to sign before it and record its result after it. */
const ATTEMPT_LEASE_MARGIN_SECONDS = 15;

/** `skipped`: the claim was no longer current (another job owns the events). See DeliveryOutcome. */
export type MetricDeliveryOutcome = 'delivered' | 'retry' | 'skipped' | 'lease-lost';

interface StartedEvent {
  id: string;
  type: string;
  occurred_at: Date;
  data: Record<string, unknown>;
  attempts: number;
  leased_until: Date;
}

/**
 * Delivers one claimed batch of metric events to the barometer
 * (`${BAROMETER_URL}/v1/events`): CloudEvents signed with the platform key,
 * each under its outbox id, so a batch sent again (the answer lost, the
 * relay killed before recording it) is counted once. Like a webhook attempt
 * (WebhookDeliveryService), it runs only under the claim its job was queued
 * for, replaces that lease with one covering its own deadline, and records
 * its result only while it still holds it. A refused or failed batch is
 * tried again with exponential backoff, for as long as it takes: an outage
 * of the barometer delays the figures, it loses none.
 */
@Injectable()
export class MetricDeliveryService {
  private readonly logger = new Logger(MetricDeliveryService.name);
  private readonly endpoint: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: PlatformSigner,
    private readonly config: AppConfig,
  ) {
    this.endpoint = `${config.urls.barometer}/v1/events`;
  }

  async deliver(eventIds: string[], claim: string): Promise<MetricDeliveryOutcome> {
    const events = await this.start(eventIds, claim);
    if (events.length === 0) return 'skipped';
    const ids = events.map((event) => event.id);
    const lease = events[0].leased_until.toISOString();
    let error: string | null = null;
    try {
      const { body, signature } = await signMetricEvents(
        events.map((event) => metricCloudEvent({ ...event, occurredAt: event.occurred_at })),
        this.signer,
      );
      const answer = await requestChecked(
        this.endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/cloudevents-batch+json',
            [METRIC_EVENTS_SIGNATURE_HEADER]: signature,
          },
          body,
          // Enough of a refusal's problem+json to say why in last_error.
          maxBodyBytes: 4096,
        },
        // The operator's own barometer, which may sit on a private network: not a third party's URL
        // (production requires BAROMETER_URL to be https at boot).
        { production: false, timeoutMs: this.config.webhookTimeoutMs },
      );
      if (answer.status < 200 || answer.status >= 300)
        error = `HTTP ${answer.status} ${answer.body.toString('utf8').slice(0, 400)}`.trim();
    } catch (cause) {
      error = (cause as Error).message.slice(0, 500);
    }
    if (error === null) {
      const recorded = await this.update(
        `UPDATE outbox_event SET status = 'delivered', delivered_at = now(), attempts = attempts + 1,
                last_error = NULL, leased_until = NULL`,
        [ids, lease],
      );
      if (recorded) return 'delivered';
      this.logger.warn({ events: ids.length }, 'metric events delivered after their lease ended; sent again');
      return 'lease-lost';
    }
    // The batch was claimed together, so its events share their count of attempts but for new ones.
    const attempts = Math.max(...events.map((event) => event.attempts)) + 1;
    const recorded = await this.update(
      `UPDATE outbox_event SET attempts = attempts + 1, last_error = $3,
              next_attempt_at = now() + ($4 || ' milliseconds')::interval, leased_until = NULL`,
      [ids, lease, error, String(retryDelayMs(attempts))],
    );
    if (!recorded) return 'lease-lost';
    this.logger.warn({ events: ids.length, attempts, error }, 'metric events not delivered; will retry');
    return 'retry';
  }

  /** Takes the batch's events still under `claim`, replacing it with this attempt's lease. */
  private async start(eventIds: string[], claim: string): Promise<StartedEvent[]> {
    const seconds = this.config.webhookTimeoutMs / 1000 + ATTEMPT_LEASE_MARGIN_SECONDS;
    return this.dataSource.query(
      `WITH started AS (
         UPDATE outbox_event SET leased_until = date_trunc('milliseconds', now() + make_interval(secs => $3))
         WHERE id = ANY($1::uuid[]) AND topic = 'metric' AND status = 'pending'
           AND leased_until = $2::timestamptz AND leased_until > now()
         RETURNING id, type, occurred_at, data, attempts, leased_until)
       SELECT * FROM started ORDER BY occurred_at, id`,
      [eventIds, claim, seconds],
    );
  }

  /** Runs `set` on the events only while this attempt's lease ($2) is theirs; whether it did. */
  private async update(set: string, params: unknown[]): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH recorded AS (
         ${set}
         WHERE id = ANY($1::uuid[]) AND status = 'pending' AND leased_until = $2::timestamptz
         RETURNING id)
       SELECT id FROM recorded`,
      params,
    );
    return rows.length > 0;
  }
}
