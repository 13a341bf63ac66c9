import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, Clock } from '#libs/config';
import { metricEventsSql } from '#libs/outbox';
import { type JobState, JOBS, QueueService } from '#libs/queues';
import { REMINDER_EVENT } from './reminder-delivery.service.js';

/** Rows claimed per statement: short transactions, however much is due. */
const CLAIM_BATCH = 500;

/** Job states in which Redis still holds work for the reminder: its lease is renewed, nothing is added. */
const UNFINISHED: ReadonlySet<JobState | 'absent'> = new Set<JobState | 'absent'>([
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a reminder is recorded as failed when its last attempt never ended (a worker killed, a job lost). */
export const NO_ATTEMPT_LEFT = 'no attempt left: the last attempt did not finish';

/**
 * Moves due reminder rows into the queue (rule 6: PostgreSQL holds every
 * reminder, Redis only the window being sent). A sweep claims, with FOR
 * UPDATE SKIP LOCKED so several schedulers share the work, the reminders
 * whose time has come and those queued earlier whose lease ran out (their
 * job lost with Redis or a killed worker), and queues one `send-reminder`
 * job per reminder, its id the reminder's. It claims no more than the
 * in-flight window leaves room for, so Redis holds at most
 * REMINDER_IN_FLIGHT reminders however many are planned, and refills the
 * window as it drains while due rows remain, for up to one sweep period:
 * sweeps run one at a time over every replica (QueueService.every), so the
 * next one, due as this one ends, takes over with no gap in a backlog.
 * A queued reminder whose lease ran out after its last attempt is recorded
 * as failed, not queued again.
 */
@Injectable()
export class ReminderSweeper {
  private readonly logger = new Logger(ReminderSweeper.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly queues: QueueService,
  ) {}

  /**
   * The one place the sweep is scheduled: BullMQ's job scheduler fires a
   * sweep every REMINDER_SWEEP_SECONDS, once for the whole deployment and
   * one at a time.
   * Idempotent: every scheduler calls it at boot and again periodically, so a
   * Redis that lost it gets it back; whether it had to be written.
   */
  schedule(): Promise<boolean> {
    return this.queues.every(JOBS.sweepReminders, this.config.reminders.sweepMs, {});
  }

  /** One sweep; how many reminders it queued. */
  async sweep(): Promise<number> {
    const { inFlight, sweepMs } = this.config.reminders;
    // Wall-clock time bounds the loop; the planning clock decides only what is due.
    const stopAt = Date.now() + sweepMs;
    let queued = 0;
    for (;;) {
      const room = inFlight - (await this.queues.unfinished(JOBS.sendReminder));
      if (room <= 0) {
        if (Date.now() >= stopAt || !(await this.anyDue())) break;
        await sleep(100);
        continue;
      }
      const limit = Math.min(room, CLAIM_BATCH);
      const claimed = await this.claimAndQueue(limit);
      queued += claimed;
      if (claimed < limit || Date.now() >= stopAt) break;
    }
    if (queued > 0) this.logger.log({ queued }, 'reminders queued');
    return queued;
  }

  /** Claims up to `limit` reminders and queues their jobs; how many it claimed. */
  async claimAndQueue(limit: number): Promise<number> {
    const ids = await this.claim(limit);
    if (ids.length === 0) return 0;
    // A job kept in Redis under the same id (finished, from before the reminder was moved, or a hash
    // left outside every list, state `unknown`) would swallow the new one: removed first. One still
    // waiting or running keeps the reminder.
    const states = await this.queues.states(JOBS.sendReminder, ids);
    const stale = ids.filter((id) => states.get(id) !== 'absent' && !UNFINISHED.has(states.get(id)!));
    if (stale.length > 0) await this.queues.remove(JOBS.sendReminder, stale);
    const { attempts, backoffMs } = this.config.reminders;
    await this.queues.addBulk(
      ids
        .filter((id) => !UNFINISHED.has(states.get(id)!))
        .map((reminderId) => ({
          name: JOBS.sendReminder,
          data: { reminderId },
          jobId: reminderId,
          retry: { attempts, backoffMs },
        })),
    );
    return ids.length;
  }

  /**
   * Marks due reminders queued, and renews the lease of queued ones whose
   * lease ran out (or records them failed when no attempt is left), in one
   * short transaction; the ids to queue. Queued after the
   * commit: a crash in between leaves leases that run out, and the reminders
   * come back on a later sweep.
   */
  private async claim(limit: number): Promise<string[]> {
    const now = this.clock.now();
    const { leaseMs, attempts } = this.config.reminders;
    const leaseUntil = new Date(now.getTime() + leaseMs);
    return this.dataSource.transaction(async (em) => {
      // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
      const lost: { id: string }[] = await em.query(
        `WITH claimed AS (
           SELECT citizen_id, id, attempts FROM reminder
           WHERE status = 'queued' AND lease_until < $1
           ORDER BY lease_until LIMIT $2 FOR UPDATE SKIP LOCKED),
         exhausted AS (
           UPDATE reminder r SET status = 'failed', failed_at = $1, lease_until = NULL, reason = $5
           FROM claimed c
           WHERE r.citizen_id = c.citizen_id AND r.id = c.id AND c.attempts >= $4 RETURNING r.id, r.deadline_id),
         failures AS (
           ${metricEventsSql(`'reminder.failed'`, 'exhausted x JOIN deadline d ON d.id = x.deadline_id', {
             ...REMINDER_EVENT,
             at: '$1::timestamptz',
           })}),
         renewed AS (
           UPDATE reminder r SET lease_until = $3 FROM claimed c
           WHERE r.citizen_id = c.citizen_id AND r.id = c.id AND c.attempts < $4 RETURNING r.id)
         SELECT id FROM renewed`,
        [now, limit, leaseUntil, attempts, NO_ATTEMPT_LEFT],
      );
      const due: { id: string }[] = await em.query(
        `WITH claimed AS (
           SELECT citizen_id, id FROM reminder
           WHERE status = 'scheduled' AND send_at <= $1
           ORDER BY send_at LIMIT $2 FOR UPDATE SKIP LOCKED),
         queued AS (
           UPDATE reminder r SET status = 'queued', queued_at = $1, lease_until = $3 FROM claimed c
           WHERE r.citizen_id = c.citizen_id AND r.id = c.id RETURNING r.id)
         SELECT id FROM queued`,
        [now, limit - lost.length, leaseUntil],
      );
      return [...lost, ...due].map((row) => row.id);
    });
  }

  private async anyDue(): Promise<boolean> {
    const now = this.clock.now();
    const [row]: { due: boolean }[] = await this.dataSource.query(
      `SELECT EXISTS (SELECT 1 FROM reminder WHERE status = 'scheduled' AND send_at <= $1)
           OR EXISTS (SELECT 1 FROM reminder WHERE status = 'queued' AND lease_until < $1) AS due`,
      [now],
    );
    return row.due;
  }
}
