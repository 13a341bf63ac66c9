import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import type { OutboxTopic } from './outbox-event.entity.js';

/**
 * How long a claimed event stays in flight before being claimed again if its
 * job never ran (Redis flushed, worker killed). Above the longest delivery
 * deadline (WEBHOOK_TIMEOUT_SECONDS ≤ 30); a job that starts within it
 * replaces it with a lease of its own attempt (WebhookDeliveryService).
 */
export const CLAIM_LEASE_SECONDS = 60;

/**
 * How many webhook jobs may wait or run in the queue at once, so that the
 * last one queued still starts well within its claim's lease: each round of
 * `concurrency` jobs takes at most one deadline, and at least two deadlines
 * of the lease are left over. A job that starts late anyway finds its claim
 * gone and does nothing; this bound keeps that rare.
 */
export function webhookBacklogLimit(concurrency: number, timeoutMs: number): number {
  const rounds = Math.floor((CLAIM_LEASE_SECONDS * 1000) / timeoutMs) - 1;
  return concurrency * Math.max(1, rounds);
}

/**
 * How many events of failing services (those with an event whose last
 * attempt failed, a timed-out one included) may be in flight at once, over
 * every scheduler: half of one process's worker slots, so however many
 * receivers stall, the other half stays free for the services that answer.
 */
export function failingServiceSlots(concurrency: number): number {
  return Math.max(1, Math.floor(concurrency / 2));
}

/**
 * Serialises claims across scheduler replicas, so the per-service and
 * failing-service caps hold over all of them. One lock for every service, and
 * yet not the global lock the design rules out: it is held for one short
 * statement per replica per poll interval, never on a request path nor while
 * a webhook is delivered, and a replica that waits for it only claims a
 * moment later.
 */
const CLAIM_LOCK = 0x6f7574626f78;

export interface ClaimedEvent {
  id: string;
  attempts: number;
  /**
   * The end of this claim's lease, in milliseconds (the column is set to the
   * millisecond, so this is its exact value): with the id, names this claim.
   */
  leasedUntil: number;
}

/**
 * Feeds the queue from the outbox rows (rule 6): claims due events with a
 * lease, so replicas do not claim the same rows and a lost job comes back.
 *
 * Each service has at most WEBHOOK_CONCURRENCY_PER_SERVICE events in flight
 * (leased and not yet answered). The cap is applied here, in SQL, rather than
 * in the workers: it then holds across scheduler replicas, and a service at
 * its cap has no job waiting in the queue ahead of other services' events, so
 * a receiver that stalls its deliveries until their deadline takes only its
 * own slots of the workers. And failing services together have at most
 * failingServiceSlots in flight, so many stalled receivers at once still
 * leave slots to the others.
 */
@Injectable()
export class OutboxRelayService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async claimDueWebhooks(limit = 100): Promise<ClaimedEvent[]> {
    if (limit <= 0) return [];
    return this.dataSource.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [CLAIM_LOCK]);
      // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
      const rows: { id: string; attempts: number; leased_until: Date }[] = await em.query(
        `WITH failing AS (
           SELECT DISTINCT service_id FROM outbox_event
           WHERE topic = 'webhook' AND status = 'pending' AND attempts > 0),
         in_flight AS (
           SELECT service_id, count(*)::int AS busy FROM outbox_event
           WHERE topic = 'webhook' AND status = 'pending' AND leased_until > now()
           GROUP BY service_id),
         ranked AS (
           SELECT e.id, e.next_attempt_at,
                  coalesce(e.service_id IN (SELECT service_id FROM failing), false) AS failing,
                  coalesce(f.busy, 0) + row_number() OVER (
                    PARTITION BY e.service_id ORDER BY e.next_attempt_at, e.id) AS slot
           FROM outbox_event e LEFT JOIN in_flight f ON f.service_id = e.service_id
           WHERE e.topic = 'webhook' AND e.status = 'pending' AND e.next_attempt_at <= now()
             AND (e.leased_until IS NULL OR e.leased_until <= now())),
         capped AS (
           SELECT id, next_attempt_at, failing,
                  (SELECT coalesce(sum(busy), 0) FROM in_flight WHERE service_id IN (SELECT service_id FROM failing))
                  + row_number() OVER (PARTITION BY failing ORDER BY next_attempt_at, id) AS failing_slot
           FROM ranked WHERE slot <= $2),
         claimed AS (
           UPDATE outbox_event SET leased_until = date_trunc('milliseconds', now() + make_interval(secs => $3))
           WHERE id IN (SELECT id FROM capped WHERE NOT failing OR failing_slot <= $4
                        ORDER BY next_attempt_at, id LIMIT $1)
             -- Checked again on the row as it is when locked: a job that took it meanwhile keeps it.
             AND status = 'pending' AND (leased_until IS NULL OR leased_until <= now())
           RETURNING id, attempts, leased_until)
         SELECT id, attempts, leased_until FROM claimed`,
        [
          limit,
          this.config.webhookConcurrencyPerService,
          CLAIM_LEASE_SECONDS,
          failingServiceSlots(this.config.webhookConcurrency),
        ],
      );
      return rows.map((row) => ({
        id: row.id,
        attempts: row.attempts,
        leasedUntil: row.leased_until.getTime(),
      }));
    });
  }

  /**
   * Claims up to `limit` due metric events as one batch, oldest first, with
   * one lease: the batch's claim. Replicas skip each other's rows (SKIP
   * LOCKED) rather than wait; metric events have one receiver, so there is
   * no per-service cap.
   */
  async claimDueMetrics(limit: number): Promise<{ ids: string[]; leasedUntil: number } | null> {
    if (limit <= 0) return null;
    const rows: { id: string; leased_until: Date }[] = await this.dataSource.query(
      `WITH due AS (
         SELECT id FROM outbox_event
         WHERE topic = 'metric' AND status = 'pending' AND next_attempt_at <= now()
           AND (leased_until IS NULL OR leased_until <= now())
         ORDER BY next_attempt_at, occurred_at, id
         LIMIT $1
         FOR UPDATE SKIP LOCKED),
       claimed AS (
         UPDATE outbox_event SET leased_until = date_trunc('milliseconds', now() + make_interval(secs => $2))
         WHERE id IN (SELECT id FROM due)
         RETURNING id, occurred_at, leased_until)
       SELECT id, leased_until FROM claimed ORDER BY occurred_at, id`,
      [limit, CLAIM_LEASE_SECONDS],
    );
    if (rows.length === 0) return null;
    return { ids: rows.map((row) => row.id), leasedUntil: rows[0].leased_until.getTime() };
  }

  /**
   * A backfill: the metric events written on the Montréal days `from` to
   * `to` (`YYYY-MM-DD`, both included) and delivered already go back to
   * pending, so the relay sends them again under their own ids — for a
   * barometer restored from an older backup, or a new one. One that holds
   * them ignores them. Events still pending are left as they are. Runs in
   * statements of `batch` rows, so a long period does not hold its rows
   * locked all at once. How many events go again.
   */
  async resendMetrics(from: string, to: string, batch = 10_000): Promise<number> {
    let total = 0;
    for (;;) {
      const [{ count }]: { count: number }[] = await this.dataSource.query(
        `WITH resent AS (
           UPDATE outbox_event SET status = 'pending', attempts = 0, next_attempt_at = now(),
                  leased_until = NULL, delivered_at = NULL, last_error = NULL
           WHERE status = 'delivered' AND id IN (
             SELECT id FROM outbox_event
             WHERE topic = 'metric' AND status = 'delivered'
               AND occurred_at >= ($1::date::timestamp AT TIME ZONE 'America/Montreal')
               AND occurred_at < (($2::date + 1)::timestamp AT TIME ZONE 'America/Montreal')
             LIMIT $3)
           RETURNING 1)
         SELECT count(*)::int AS count FROM resent`,
        [from, to, batch],
      );
      total += count;
      if (count < batch) return total;
    }
  }

  /** The age, in seconds, of each topic's oldest undelivered event; a topic with none is absent. */
  async lag(): Promise<Map<OutboxTopic, number>> {
    const rows: { topic: OutboxTopic; seconds: number }[] = await this.dataSource.query(
      `SELECT topic, extract(epoch FROM now() - min(occurred_at))::float8 AS seconds
       FROM outbox_event WHERE status = 'pending' GROUP BY topic`,
    );
    return new Map(rows.map((row) => [row.topic, row.seconds]));
  }
}
