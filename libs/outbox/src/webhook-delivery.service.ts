import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { postChecked } from '#libs/outbound';

/** 1 s, 2 s, 4 s … capped at one hour: retried until the receiver answers 2xx. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 3600_000);
}

/**
 * `skipped`: nothing to do, or the job's claim was no longer the event's
 * current one (its lease ran out and the event was claimed again), so another
 * job owns the event. `lease-lost`: the attempt ran but its claim ended before
 * its result was recorded; the event is claimed and delivered again, same id.
 */
export type DeliveryOutcome = 'delivered' | 'retry' | 'skipped' | 'lease-lost';

/** The protected header's `typ` of a webhook: says what the signature covers. */
export const WEBHOOK_JWS_TYPE = 'webhook+jwt';

/** Room, past an attempt's deadline, to sign before it and record its result after it. */
const ATTEMPT_LEASE_MARGIN_SECONDS = 15;

interface StartedAttempt {
  id: string;
  type: string;
  occurred_at: Date;
  service_id: string | null;
  url: string;
  data: Record<string, unknown>;
  attempts: number;
  /** The attempt's own lease, set to the millisecond: the claim the final update must still hold. */
  leased_until: Date;
}

/**
 * Delivers one webhook: a compact JWS of {id, type, occurredAt, aud, data},
 * the id the same on every attempt, `aud` the receiving service, so an event
 * meant for one service cannot be replayed to another. Each attempt has one
 * overall deadline (WEBHOOK_TIMEOUT_SECONDS), however slowly the receiver
 * answers.
 *
 * An attempt runs only under the claim its job was queued for: it starts by
 * replacing that claim's lease with one covering its own deadline, and does
 * nothing if the claim is no longer current (a job that waited in the queue
 * past its lease, the event claimed again since). Its result is recorded only
 * while it still holds that lease, so a stale attempt can neither end another
 * claim's lease nor count an attempt twice; the row, not the queue, decides
 * when the next attempt is due.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: PlatformSigner,
    private readonly config: AppConfig,
  ) {}

  /** `claim`: the end of the claim's lease, ISO 8601 to the millisecond, as the relay set it. */
  async deliver(eventId: string, claim: string): Promise<DeliveryOutcome> {
    const event = await this.start(eventId, claim);
    if (!event) return 'skipped';
    const lease = event.leased_until.toISOString();
    let error: string | null = null;
    try {
      const body = await this.signer.signJson(
        {
          id: event.id,
          type: event.type,
          occurredAt: event.occurred_at.toISOString(),
          aud: event.service_id,
          data: event.data,
        },
        WEBHOOK_JWS_TYPE,
      );
      // Redirects are not followed: a 3xx is a failed attempt.
      const status = await postChecked(
        event.url,
        body,
        { 'content-type': 'application/jose', 'x-une-fois-event-id': event.id },
        { production: this.config.production, timeoutMs: this.config.webhookTimeoutMs },
      );
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (cause) {
      error = (cause as Error).message.slice(0, 500);
    }
    if (error === null) {
      const recorded = await this.update(
        `UPDATE outbox_event SET status = 'delivered', delivered_at = now(), attempts = attempts + 1,
                last_error = NULL, leased_until = NULL`,
        [event.id, lease],
      );
      if (recorded) return 'delivered';
      this.logger.warn(
        { eventId: event.id },
        'webhook delivered after its lease ended; it will be sent again',
      );
      return 'lease-lost';
    }
    // While the lease is held no other attempt records, so the count read at the start is current.
    const attempts = event.attempts + 1;
    const recorded = await this.update(
      `UPDATE outbox_event SET attempts = attempts + 1, last_error = $3,
              next_attempt_at = now() + ($4 || ' milliseconds')::interval, leased_until = NULL`,
      [event.id, lease, error, String(retryDelayMs(attempts))],
    );
    if (!recorded) return 'lease-lost';
    this.logger.warn({ eventId: event.id, attempts, error }, 'webhook delivery failed; will retry');
    return 'retry';
  }

  /**
   * Takes the event for this attempt if `claim` is still its live lease,
   * replacing it with the attempt's own (deadline plus margin); null otherwise.
   */
  private async start(eventId: string, claim: string): Promise<StartedAttempt | null> {
    const seconds = this.config.webhookTimeoutMs / 1000 + ATTEMPT_LEASE_MARGIN_SECONDS;
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
    const rows: StartedAttempt[] = await this.dataSource.query(
      `WITH started AS (
         UPDATE outbox_event SET leased_until = date_trunc('milliseconds', now() + make_interval(secs => $3))
         WHERE id = $1 AND topic = 'webhook' AND status = 'pending' AND url IS NOT NULL
           AND leased_until = $2::timestamptz AND leased_until > now()
         RETURNING id, type, occurred_at, service_id, url, data, attempts, leased_until)
       SELECT * FROM started`,
      [eventId, claim, seconds],
    );
    return rows[0] ?? null;
  }

  /** Runs `set` on the event only while this attempt's lease ($2) is its live one; whether it did. */
  private async update(set: string, params: unknown[]): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH recorded AS (
         ${set}
         WHERE id = $1 AND status = 'pending' AND leased_until = $2::timestamptz
         RETURNING id)
       SELECT id FROM recorded`,
      params,
    );
    return rows.length === 1;
  }
}
