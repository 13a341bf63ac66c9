import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DateTime } from 'luxon';
import { DataSource, type EntityManager } from 'typeorm';
import { DEFAULT_OFFSETS_DAYS, type JsonValue, type Label, RegistryService } from '#libs/catalogue';
import { Clock } from '#libs/config';
import { DomainError } from '#libs/errors';
import { citizenOfPpidSql, type ServicePrincipal } from '#libs/identity';
import { metricEventsSql } from '#libs/outbox';
import {
  DEFAULT_QUIET_HOURS,
  type LockedCitizen,
  lockedCitizen,
  lockLiveCitizenOf,
  lockLiveCitizenSql,
  type QuietHours,
} from '#libs/vault';
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
    private readonly clock: Clock,
  ) {}

  /**
   * A service registers a deadline of a kind its registry entry lists, for a
   * citizen its organisation knows. The same externalRef again is the same
   * deadline (its title and actionUrl updated, moved if dueAt differs).
   * A new deadline takes one statement (insert), a replay a transaction.
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
    const now = this.clock.now();
    const deadline: Omit<Deadline, 'citizenId'> = {
      id: randomUUID(),
      kind: input.kind,
      organisationId: service.organisationId,
      serviceId: service.serviceId,
      sourceAttribute: null,
      externalRef: input.externalRef,
      title: input.title,
      actionUrl: input.actionUrl,
      dueAt: input.dueAt,
      status: 'open',
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    };
    const citizenQuery = citizenOfPpidSql(`$${CITIZEN_PARAMETERS}`, `$${CITIZEN_PARAMETERS + 1}`);
    // Planned first with the quiet hours most citizens keep: when the citizen's differ, nothing is
    // written and the statement is run again with theirs.
    let quietHours: QuietHours = DEFAULT_QUIET_HOURS;
    for (;;) {
      const written = await this.insert(this.dataSource.manager, deadline, quietHours, citizenQuery, [
        service.organisationId,
        input.ppid,
      ]);
      if (written.inserted) return { ...deadline, citizenId: written.citizen.id };
      if (written.planned) break;
      quietHours = written.citizen.quietHours;
    }
    return this.dataSource.transaction(async (em) => {
      const citizen = await lockLiveCitizenOf(em, citizenOfPpidSql('$1', '$2'), [
        service.organisationId,
        input.ppid,
      ]);
      return this.replay(em, service, citizen, input);
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
      // The service's deadline found and its citizen locked in one statement; on refusal, which of the two.
      const ofService = `SELECT citizen_id FROM deadline WHERE id = $1 AND service_id = $2`;
      const citizen = await lockLiveCitizenOf(em, ofService, [id, service.serviceId]).catch(
        async (error: unknown) => {
          if (!(error instanceof DomainError)) throw error;
          const found: unknown[] = await em.query(ofService, [id, service.serviceId]);
          if (found.length === 0)
            throw new DomainError('deadline_not_found', 'No such deadline among those of your service.');
          throw error;
        },
      );
      const deadline = await this.lock(em, { citizenId: citizen.id, id });
      if ('status' in change && change.status === deadline.status) return deadline;
      if (deadline.status !== 'open')
        throw new DomainError('deadline_closed', `This deadline is already ${deadline.status}.`);
      if ('dueAt' in change) await this.move(em, deadline, change.dueAt, citizen.quietHours);
      else await this.close(em, deadline, change.status);
      return deadline;
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
    const citizen = await lockLiveCitizenOf(em, '$1', [citizenId]);
    const [existing] = await em
      .createQueryBuilder(Deadline, 'd')
      .setLock('pessimistic_write')
      .where('d.citizen_id = :citizenId AND d.source_attribute = :attribute', { citizenId, attribute })
      .getMany();
    if (existing) return this.move(em, existing, dueAt, citizen.quietHours);
    const now = this.clock.now();
    const deadline = {
      id: randomUUID(),
      kind: kind.code,
      organisationId: authority,
      serviceId: null,
      sourceAttribute: attribute,
      externalRef: null,
      title: kind.label,
      actionUrl: null,
      dueAt,
      status: 'open' as const,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
    };
    await this.insert(em, deadline, citizen.quietHours, `$${CITIZEN_PARAMETERS}::uuid`, [citizenId]);
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

  /**
   * Erasure: the citizen's deadlines go, their reminders and deliveries with
   * them (ON DELETE CASCADE). An open one not yet due will never fall due:
   * it is reported `deadline.cancelled`, in the same statement; one already
   * due stays counted as it fell.
   */
  async deleteAll(em: EntityManager, citizenId: string): Promise<void> {
    await em.query(
      `WITH gone AS (
         DELETE FROM deadline WHERE citizen_id = $1
         RETURNING id, kind, organisation_id, service_id, due_at, status)
       ${deadlineEventSql('cancelled', "gone WHERE status = 'open' AND due_at > $2")}`,
      [citizenId, this.clock.now()],
    );
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
    citizen: LockedCitizen,
    input: NewDeadline,
  ): Promise<Deadline> {
    const existing = await em.findOneByOrFail(Deadline, {
      serviceId: service.serviceId,
      externalRef: input.externalRef!,
    });
    if (existing.citizenId !== citizen.id || existing.kind !== input.kind)
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
    ) {
      Object.assign(deadline, {
        title: input.title,
        actionUrl: input.actionUrl,
        updatedAt: this.clock.now(),
      });
      await em.update(
        Deadline,
        { citizenId: deadline.citizenId, id: deadline.id },
        { title: deadline.title, actionUrl: deadline.actionUrl, updatedAt: deadline.updatedAt },
      );
    }
    if (deadline.status === 'open') await this.move(em, deadline, input.dueAt, citizen.quietHours);
    return deadline;
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

  /**
   * One statement, so one transaction when run on its own: the live citizen
   * `citizenQuery` names (its parameters from $CITIZEN_PARAMETERS on) locked
   * as lockLiveCitizen does, then, if their quiet hours are `quietHours`
   * (`planned`), the deadline's row and its reminders planned with them. A
   * query that names no live citizen is refused as lockLiveCitizen does. Not
   * `inserted`, with nothing written, when the quiet hours differ or when the
   * service's externalRef already names a deadline (the unique index settles
   * a concurrent double POST: one row).
   */
  private async insert(
    em: EntityManager,
    deadline: Omit<Deadline, 'citizenId'>,
    quietHours: QuietHours,
    citizenQuery: string,
    citizenParameters: unknown[],
  ): Promise<{ citizen: LockedCitizen; planned: boolean; inserted: boolean }> {
    const rows: { id: string; quiet_hours: QuietHours; planned: boolean; inserted: boolean }[] =
      await em.query(
        `WITH c AS (${lockLiveCitizenSql(citizenQuery)}),
       d AS (
         INSERT INTO deadline (citizen_id, id, kind, organisation_id, service_id, source_attribute, external_ref, title,
                               action_url, due_at, status, created_at, updated_at)
         SELECT c.id, $1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::text, $9::timestamptz,
                'open', $10::timestamptz, $10::timestamptz
         FROM c WHERE c.quiet_hours = $11::jsonb
         ON CONFLICT (service_id, external_ref) WHERE service_id IS NOT NULL AND external_ref IS NOT NULL
         DO NOTHING RETURNING citizen_id, id
       ), reminders AS (
         INSERT INTO reminder (citizen_id, id, deadline_id, offset_days, planned_at, send_at, status, reason)
         SELECT d.citizen_id, r.id, d.id, r.offset_days, r.planned_at, r.send_at, r.status, r.reason
         FROM d, ${PLANNED_ROWS(12)}
       ), registered AS (
         ${deadlineEventSql('registered', 'd', { id: 'd.id', kind: '$2', organisation: '$3', service: '$4', dueAt: '$9' })}
       )
       SELECT c.id, c.quiet_hours, c.quiet_hours = $11::jsonb AS planned, EXISTS (SELECT FROM d) AS inserted FROM c`,
        [
          deadline.id,
          deadline.kind,
          deadline.organisationId,
          deadline.serviceId,
          deadline.sourceAttribute,
          deadline.externalRef,
          JSON.stringify(deadline.title),
          deadline.actionUrl,
          deadline.dueAt,
          deadline.createdAt,
          JSON.stringify(quietHours),
          ...this.plan(deadline, quietHours),
          ...citizenParameters,
        ],
      );
    return { citizen: lockedCitizen(rows), planned: rows[0].planned, inserted: rows[0].inserted };
  }

  /** Reminder rows for the deadline as unnest arrays (PLANNED_ROWS), each with a new id. */
  private plan(deadline: Pick<Deadline, 'kind' | 'dueAt'>, quietHours: QuietHours): unknown[] {
    const kind = this.registry.current().deadlineKind(deadline.kind);
    const planned = planReminders({
      dueAt: deadline.dueAt,
      // A deadline outlives a catalogue change: a kind no longer listed keeps the default policy.
      offsetsDays: kind?.offsetsDays ?? DEFAULT_OFFSETS_DAYS,
      quietHours,
      now: this.clock.now(),
    });
    return [
      planned.map(() => randomUUID()),
      planned.map((p) => p.offsetDays),
      planned.map((p) => p.plannedAt),
      planned.map((p) => p.sendAt),
      planned.map((p) => p.status),
      planned.map((p) => p.reason ?? null),
    ];
  }

  /**
   * Reminders not yet gone are cancelled as rescheduled, and a fresh set is
   * planned, in one statement; sent ones stay. An open deadline already due
   * at `dueAt` is left as it is: nothing is cancelled.
   */
  private async move(em: EntityManager, deadline: Deadline, dueAt: Date, quietHours: QuietHours) {
    if (deadline.status === 'open' && deadline.dueAt.getTime() === dueAt.getTime()) return;
    Object.assign(deadline, { dueAt, status: 'open', closedAt: null, updatedAt: this.clock.now() });
    await em.query(
      `WITH ${CANCEL_PENDING}, moved AS (
         UPDATE deadline SET due_at = $5, status = 'open', closed_at = NULL, updated_at = $4
         WHERE citizen_id = $1 AND id = $2 RETURNING id, kind, organisation_id, service_id, due_at
       ), event AS (
         ${deadlineEventSql('moved', 'moved')}
       )
       INSERT INTO reminder (citizen_id, id, deadline_id, offset_days, planned_at, send_at, status, reason)
       SELECT $1, r.id, $2, r.offset_days, r.planned_at, r.send_at, r.status, r.reason FROM ${PLANNED_ROWS(6)}`,
      [
        deadline.citizenId,
        deadline.id,
        'rescheduled',
        deadline.updatedAt,
        dueAt,
        ...this.plan(deadline, quietHours),
      ],
    );
  }

  /** Reminders not yet gone are cancelled with the deadline, in one statement. */
  private async close(em: EntityManager, deadline: Deadline, status: Exclude<DeadlineStatus, 'open'>) {
    const now = this.clock.now();
    Object.assign(deadline, { status, closedAt: now, updatedAt: now });
    await em.query(
      `WITH ${CANCEL_PENDING}, closed AS (
         UPDATE deadline SET status = $5, closed_at = $4, updated_at = $4 WHERE citizen_id = $1 AND id = $2
         RETURNING id, kind, organisation_id, service_id, due_at
       )
       ${deadlineEventSql(status, 'closed')}`,
      [deadline.citizenId, deadline.id, `deadline ${status}`, now, status],
    );
  }
}

/**
 * The metric event `deadline.<what>` (rule 7: in the statement that makes
 * the change) for each row of `source`: the deadline's id, kind, organisation,
 * service (null for one from an expiring attribute) and due time, never its
 * citizen. `columns`: SQL for each, by default the deadline table's columns.
 */
function deadlineEventSql(
  what: 'registered' | 'moved' | Exclude<DeadlineStatus, 'open'>,
  source: string,
  columns = {
    id: 'id',
    kind: 'kind',
    organisation: 'organisation_id',
    service: 'service_id',
    dueAt: 'due_at',
  },
): string {
  return metricEventsSql(`'deadline.${what}'`, source, {
    deadline: `${columns.id}::uuid`,
    kind: `${columns.kind}::text`,
    organisation: `${columns.organisation}::text`,
    service: `${columns.service}::text`,
    dueAt: `${columns.dueAt}::timestamptz`,
  });
}

/**
 * A data-modifying WITH item: the reminders of deadline $2 (citizen $1) not
 * yet gone are cancelled with reason $3 at $4.
 */
const CANCEL_PENDING = `cancelled AS (
  UPDATE reminder SET status = 'cancelled', reason = $3, cancelled_at = $4, lease_until = NULL
  WHERE citizen_id = $1 AND deadline_id = $2 AND status IN ('scheduled', 'queued')
)`;

/** The first parameter of the query naming the citizen in DeadlinesService.insert, after the deadline's and the plan's. */
const CITIZEN_PARAMETERS = 18;

/** The arrays of DeadlinesService.plan, from parameter $first on, as rows `r`. */
const PLANNED_ROWS = (first: number) =>
  `unnest(${['uuid', 'integer', 'timestamptz', 'timestamptz', 'text', 'text']
    .map((type, i) => `$${first + i}::${type}[]`)
    .join(', ')}) AS r (id, offset_days, planned_at, send_at, status, reason)`;
