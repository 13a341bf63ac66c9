import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { OutboxEvent } from './outbox-event.entity.js';
import { postChecked } from '#libs/outbound';

/** 1 s, 2 s, 4 s … capped at one hour: retried until the receiver answers 2xx. */
export function retryDelayMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 3600_000);
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'skipped';

/** The protected header's `typ` of a webhook: says what the signature covers. */
export const WEBHOOK_JWS_TYPE = 'webhook+jwt';

/**
 * Delivers one webhook: a compact JWS of {id, type, occurredAt, aud, data},
 * the id the same on every attempt, `aud` the receiving service, so an event
 * meant for one service cannot be replayed to another. Each attempt has one
 * overall deadline (WEBHOOK_TIMEOUT_SECONDS), however slowly the receiver
 * answers. Success and failure are recorded on the row, which ends the
 * attempt's lease; the row, not the queue, decides when the next attempt is due.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly signer: PlatformSigner,
    private readonly config: AppConfig,
  ) {}

  async deliver(eventId: string): Promise<DeliveryOutcome> {
    const event = await this.dataSource
      .getRepository(OutboxEvent)
      .findOneBy({ id: eventId, topic: 'webhook' });
    if (!event || event.status === 'delivered' || !event.url) return 'skipped';
    let error: string | null = null;
    try {
      const body = await this.signer.signJson(
        {
          id: event.id,
          type: event.type,
          occurredAt: event.occurredAt.toISOString(),
          aud: event.serviceId,
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
      await this.dataSource.query(
        `UPDATE outbox_event SET status = 'delivered', delivered_at = now(), attempts = attempts + 1, last_error = NULL,
                leased_until = NULL
         WHERE id = $1`,
        [event.id],
      );
      return 'delivered';
    }
    const attempts = event.attempts + 1;
    await this.dataSource.query(
      `UPDATE outbox_event SET attempts = $2, last_error = $3, next_attempt_at = now() + ($4 || ' milliseconds')::interval,
                leased_until = NULL
       WHERE id = $1 AND status = 'pending'`,
      [event.id, attempts, error, String(retryDelayMs(attempts))],
    );
    this.logger.warn({ eventId: event.id, attempts, error }, 'webhook delivery failed; will retry');
    return 'retry';
  }
}
