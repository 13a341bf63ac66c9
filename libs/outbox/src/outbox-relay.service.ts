import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** How long a claimed event waits before being claimed again if its job never ran (Redis flushed, worker killed). */
export const CLAIM_LEASE_SECONDS = 60;

export interface ClaimedEvent {
  id: string;
  attempts: number;
}

/**
 * Feeds the queue from the outbox rows (rule 6): claims due events with a
 * lease, so replicas do not claim the same rows and a lost job comes back.
 */
@Injectable()
export class OutboxRelayService {
  constructor(private readonly dataSource: DataSource) {}

  async claimDueWebhooks(limit = 100): Promise<ClaimedEvent[]> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
    const rows: { id: string; attempts: number }[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE outbox_event SET next_attempt_at = now() + make_interval(secs => $2)
         WHERE id IN (
           SELECT id FROM outbox_event
           WHERE topic = 'webhook' AND status = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, attempts)
       SELECT id, attempts FROM claimed`,
      [limit, CLAIM_LEASE_SECONDS],
    );
    return rows;
  }
}
