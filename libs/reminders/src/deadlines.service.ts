import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DateTime } from 'luxon';
import { DataSource, type EntityManager } from 'typeorm';
import { DEFAULT_OFFSETS_DAYS, type JsonValue, type Label, RegistryService } from '#libs/catalogue';
import { Clock } from '#libs/config';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { CitizensService, lockLiveCitizen, type QuietHours } from '#libs/vault';
import { Deadline, type DeadlineStatus } from './deadline.entity.js';
import { planReminders, PLANNING_ZONE, replanReminder } from './planning.js';
import { Reminder, ReminderDelivery } from './reminder.entity.js';

export interface NewDeadline {
  ppid: string;
  kind: string;
  dueAt: Date;
  title: Label;
  actionUrl: string | null;
  externalRef: string | null;
}

/** A service's change to its deadline: close it, or move it. */
export type DeadlineChange = { status: 'completed' | 'cancelled' } | { dueAt: Date };

/** A deadline with its reminders and what each channel did with each, as the citizen sees them. */
export interface DeadlineWithReminders {
  deadline: Deadline;
  reminders: (Reminder & { deliveries: ReminderDelivery[] })[];
}

/**
 * The one home of deadline rules: who may register what, idempotence on a
 * service's reference, and the reminder rows, which are created, moved or
 * cancelled in the same transaction as the deadline. Every change locks the
 * citizen (lockLiveCitizen), so it serialises with the citizen's other
 * writes and never outlives an erasure.
 */
@Injectable()
export class DeadlinesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly citizens: CitizensService,
    private readonly clock: Clock,
  ) {}

  /**
   * A service registers a deadline of a kind its registry entry lists, for a
   * citizen its organisation knows. The same externalRef again is the same
   * deadline (its title and actionUrl updated, moved if dueAt differs).
   */
  async register(service: ServicePrincipal, input: NewDeadline): Promise<Deadline> {
    const registry = this.registry.current();
    if (!registry.deadlineKind(input.kind))
      throw new DomainError('unknown_deadline_kind', `No deadline kind "${input.kind}" in the catalogue.`, [
        { field: 'kind', message: `unknown deadline kind "${input.kind}"` },
      ]);
    if (!registry.service(service.serviceId)?.deadlines.includes(input.kind))
      throw new DomainError(
        'forbidden',
        `The registry entry of ${service.serviceId} does not list the deadline kind "${input.kind}".`,
      );
    this.requireFuture(input.dueAt);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.require(em, service.organisationId, input.ppid);
      await lockLiveCitizen(em, citizenId);
      const id = randomUUID();
      const now = this.clock.now();
      if (input.externalRef !== null) {
        // The unique index on (service_id, external_ref) settles a concurrent double POST: one row.
        const inserted: unknown[] = await em.query(
          `INSERT INTO deadline (citizen_id, id, kind, organisation_id, service_id, external_ref, title, action_url, due_at,
                                 created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
           ON CONFLICT (service_id, external_ref) WHERE service_id IS NOT NULL AND external_ref IS NOT NULL
           DO NOTHING RETURNING id`,
          [
            citizenId,
            id,
            input.kind,
            service.organisationId,
            service.serviceId,
            input.externalRef,
            JSON.stringify(input.title),
            input.actionUrl,
            input.dueAt,
            now,
          ],
        );
        if (inserted.length === 0) return this.replay(em, service, citizenId, input);
      } else {
        await em.insert(Deadline, {
          citizenId,
          id,
          kind: input.kind,
          organisationId: service.organisationId,
          serviceId: service.serviceId,
          sourceAttribute: null,
          externalRef: null,
          title: input.title,
          actionUrl: input.actionUrl,
          dueAt: input.dueAt,
          status: 'open',
          createdAt: now,
          updatedAt: now,
        });
      }
      const deadline = { citizenId, id, kind: input.kind, dueAt: input.dueAt } as Deadline;
      await this.planFor(em, deadline);
      return this.load(em, deadline);
    });
  }

  /**
   * A service closes or moves one of its own deadlines; another service's id
   * is as unknown as a made-up one. Asking again for what already holds (the
   * same status, the same dueAt) changes nothing; a closed deadline cannot be
   * moved or closed otherwise.
   */
  async change(service: ServicePrincipal, id: string, change: DeadlineChange): Promise<Deadline> {
    if ('dueAt' in change) this.requireFuture(change.dueAt);
    return this.dataSource.transaction(async (em) => {
      const found = await em.findOneBy(Deadline, { id, serviceId: service.serviceId });
      if (!found)
        throw new DomainError('deadline_not_found', 'No such deadline among those of your service.');
      await lockLiveCitizen(em, found.citizenId);
      const deadline = await this.lock(em, found);
      if ('status' in change && change.status === deadline.status) return deadline;
      if (deadline.status !== 'open')
        throw new DomainError('deadline_closed', `This deadline is already ${deadline.status}.`);
      if ('dueAt' in change) await this.move(em, deadline, change.dueAt);
      else await this.close(em, deadline, change.status);
      return this.load(em, deadline);
    });
  }

  /**
   * An expiring attribute was written (in the caller's transaction): its
   * deadline, due at 00:00 America/Montreal on the expiry date at the
   * attribute's authority, is created or moved. Other attributes: nothing.
   */
  async onAttributeWritten(em: EntityManager, citizenId: string, attribute: string, value: JsonValue) {
    const registry = this.registry.current();
    const kind = registry.expiringDeadlineKind(attribute);
    const authority = registry.attribute(attribute)?.authority;
    if (!kind || !authority || typeof value !== 'string') return;
    const dueAt = DateTime.fromISO(value, { zone: PLANNING_ZONE }).startOf('day').toJSDate();
    await lockLiveCitizen(em, citizenId);
    const [existing] = await em
      .createQueryBuilder(Deadline, 'd')
      .setLock('pessimistic_write')
      .where('d.citizen_id = :citizenId AND d.source_attribute = :attribute', { citizenId, attribute })
      .getMany();
    if (!existing) {
      const deadline = em.create(Deadline, {
        citizenId,
        id: randomUUID(),
        kind: kind.code,
        organisationId: authority,
        serviceId: null,
        sourceAttribute: attribute,
        externalRef: null,
        title: kind.label,
        actionUrl: null,
        dueAt,
        status: 'open',
        createdAt: this.clock.now(),
        updatedAt: this.clock.now(),
      });
      await em.insert(Deadline, deadline);
      await this.planFor(em, deadline);
    } else {
      await this.move(em, existing, dueAt);
    }
  }

  /**
   * The citizen's quiet hours changed (in the caller's transaction): each
   * reminder still to leave is placed again from its planned time
   * (replanReminder). One already due is the sweeper's and stays as it is.
   */
  async replan(em: EntityManager, citizenId: string, quietHours: QuietHours): Promise<void> {
    const now = this.clock.now();
    const rows: { id: string; planned_at: Date; due_at: Date }[] = await em.query(
      `SELECT r.id, r.planned_at, d.due_at FROM reminder r
         JOIN deadline d ON d.citizen_id = r.citizen_id AND d.id = r.deadline_id
       WHERE r.citizen_id = $1 AND r.status = 'scheduled' AND r.send_at > $2 FOR UPDATE OF r`,
      [citizenId, now],
    );
    if (rows.length === 0) return;
    const replanned = rows.map((row) =>
      replanReminder({ plannedAt: row.planned_at, dueAt: row.due_at, quietHours, now }),
    );
    await em.query(
      `UPDATE reminder r SET send_at = u.send_at, status = u.status, reason = u.reason
       FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[]) AS u (id, send_at, status, reason)
       WHERE r.citizen_id = $1 AND r.id = u.id`,
      [
        citizenId,
        rows.map((row) => row.id),
        replanned.map((r) => r.sendAt),
        replanned.map((r) => r.status),
        replanned.map((r) => r.reason ?? null),
      ],
    );
  }

  /**
   * The citizen's deadlines, by due date, each with its reminders and what
   * each channel did: read in the caller's transaction, or in one REPEATABLE
   * READ transaction of its own, so the three reads agree.
   */
  async forCitizen(citizenId: string, em?: EntityManager): Promise<DeadlineWithReminders[]> {
    if (!em) return this.dataSource.transaction('REPEATABLE READ', (tx) => this.forCitizen(citizenId, tx));
    const deadlines = await em.find(Deadline, { where: { citizenId }, order: { dueAt: 'ASC', id: 'ASC' } });
    const reminders = await em.find(Reminder, {
      where: { citizenId },
      order: { sendAt: 'ASC', offsetDays: 'DESC' },
    });
    const deliveries = await em.find(ReminderDelivery, { where: { citizenId }, order: { at: 'ASC' } });
    return deadlines.map((deadline) => ({
      deadline,
      reminders: reminders
        .filter((r) => r.deadlineId === deadline.id)
        .map((r) => Object.assign(r, { deliveries: deliveries.filter((d) => d.reminderId === r.id) })),
    }));
  }

  /** Erasure: the citizen's deadlines go, their reminders and deliveries with them (ON DELETE CASCADE). */
  async deleteAll(em: EntityManager, citizenId: string): Promise<void> {
    await em.delete(Deadline, { citizenId });
  }

  private requireFuture(dueAt: Date): void {
    if (Number.isNaN(dueAt.getTime()))
      throw new DomainError('validation_failed', 'dueAt is not a date-time.', [
        { field: 'dueAt', message: 'must be an ISO 8601 date-time with an offset' },
      ]);
    if (dueAt.getTime() <= this.clock.now().getTime())
      throw new DomainError('invalid_due_date', 'dueAt must be in the future.', [
        { field: 'dueAt', message: 'must be in the future' },
      ]);
  }

  /**
   * The same externalRef again: the same deadline. The service owns its
   * title and actionUrl, so they take the new values; a new dueAt moves it.
   */
  private async replay(
    em: EntityManager,
    service: ServicePrincipal,
    citizenId: string,
    input: NewDeadline,
  ): Promise<Deadline> {
    const existing = await em.findOneByOrFail(Deadline, {
      serviceId: service.serviceId,
      externalRef: input.externalRef!,
    });
    if (existing.citizenId !== citizenId || existing.kind !== input.kind)
      throw new DomainError(
        'deadline_ref_conflict',
        `externalRef "${input.externalRef}" already names a deadline of another citizen or kind.`,
      );
    const deadline = await this.lock(em, existing);
    if (deadline.status !== 'open' && deadline.dueAt.getTime() !== input.dueAt.getTime())
      throw new DomainError('deadline_closed', 'This deadline is closed; it cannot be moved.');
    if (
      JSON.stringify(deadline.title) !== JSON.stringify(input.title) ||
      deadline.actionUrl !== input.actionUrl
    )
      await em.update(
        Deadline,
        { citizenId: deadline.citizenId, id: deadline.id },
        { title: input.title, actionUrl: input.actionUrl, updatedAt: this.clock.now() },
      );
    if (deadline.status === 'open') await this.move(em, deadline, input.dueAt);
    return this.load(em, deadline);
  }

  /** The deadline's row, locked for the rest of the transaction, as it is now. */
  private async lock(em: EntityManager, deadline: Pick<Deadline, 'citizenId' | 'id'>): Promise<Deadline> {
    const [locked] = await em
      .createQueryBuilder(Deadline, 'd')
      .setLock('pessimistic_write')
      .where('d.citizen_id = :citizenId AND d.id = :id', { citizenId: deadline.citizenId, id: deadline.id })
      .getMany();
    return locked;
  }

  /** New reminder rows for the deadline, planned with its kind's offsets and the citizen's quiet hours. */
  private async planFor(em: EntityManager, deadline: Deadline): Promise<void> {
    const citizen = await this.citizens.get(deadline.citizenId, em);
    const kind = this.registry.current().deadlineKind(deadline.kind);
    const planned = planReminders({
      dueAt: deadline.dueAt,
      // A deadline outlives a catalogue change: a kind no longer listed keeps the default policy.
      offsetsDays: kind?.offsetsDays ?? DEFAULT_OFFSETS_DAYS,
      quietHours: citizen.quietHours,
      now: this.clock.now(),
    });
    if (planned.length === 0) return;
    await em.insert(
      Reminder,
      planned.map((p) => ({
        citizenId: deadline.citizenId,
        id: randomUUID(),
        deadlineId: deadline.id,
        offsetDays: p.offsetDays,
        plannedAt: p.plannedAt,
        sendAt: p.sendAt,
        status: p.status,
        reason: p.reason ?? null,
        attempts: 0,
      })),
    );
  }

  /**
   * Reminders not yet gone are cancelled as rescheduled, and a fresh set is
   * planned; sent ones stay. An open deadline already due at `dueAt` is left
   * as it is: nothing is cancelled.
   */
  private async move(em: EntityManager, deadline: Deadline, dueAt: Date): Promise<void> {
    if (deadline.status === 'open' && deadline.dueAt.getTime() === dueAt.getTime()) return;
    await this.cancelPending(em, deadline, 'rescheduled');
    deadline.dueAt = dueAt;
    deadline.status = 'open';
    deadline.closedAt = null;
    await em.update(
      Deadline,
      { citizenId: deadline.citizenId, id: deadline.id },
      { dueAt, status: 'open', closedAt: null, updatedAt: this.clock.now() },
    );
    await this.planFor(em, deadline);
  }

  private async close(em: EntityManager, deadline: Deadline, status: Exclude<DeadlineStatus, 'open'>) {
    const now = this.clock.now();
    await this.cancelPending(em, deadline, `deadline ${status}`);
    await em.update(
      Deadline,
      { citizenId: deadline.citizenId, id: deadline.id },
      { status, closedAt: now, updatedAt: now },
    );
  }

  private async cancelPending(em: EntityManager, deadline: Deadline, reason: string): Promise<void> {
    await em.query(
      `UPDATE reminder SET status = 'cancelled', reason = $3, cancelled_at = $4, lease_until = NULL
       WHERE citizen_id = $1 AND deadline_id = $2 AND status IN ('scheduled', 'queued')`,
      [deadline.citizenId, deadline.id, reason, this.clock.now()],
    );
  }

  private load(em: EntityManager, deadline: Pick<Deadline, 'citizenId' | 'id'>): Promise<Deadline> {
    return em.findOneByOrFail(Deadline, { citizenId: deadline.citizenId, id: deadline.id });
  }
}
