import { Inject, Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { type Label, RegistryService } from '#libs/catalogue';
import {
  ChannelError,
  type ChannelName,
  type Contacts,
  PermanentChannelError,
  REMINDER_CHANNELS,
  type ReminderChannel,
  type ReminderMessage,
  reminderText,
} from '#libs/channels';
import { AppConfig, Clock, ConfigError } from '#libs/config';
import { Batcher, preparedQuery } from '#libs/database';
import { metricEventsSql } from '#libs/outbox';
import { AttributesService, type Citizen } from '#libs/vault';
import { deadlineCalendar } from '../calendar.js';
import type { DeadlineStatus } from '../deadline.entity.js';
import { inQuietHours, placeOutOfQuietHours } from '../planning.js';
import type { DeliveryStatus, ReminderStatus } from '../reminder.entity.js';

/**
 * What became of one job: the reminder's final status, `deferred` (back to
 * scheduled, out of the citizen's quiet hours), `skipped` (no longer queued),
 * or a TransientDeliveryError thrown (tried again).
 */
export type DeliveryOutcome =
  Extract<ReminderStatus, 'sent' | 'delivered' | 'failed' | 'suppressed'> | 'deferred' | 'skipped';

/**
 * Thrown when the reminder failed for now and attempts are left: BullMQ tries
 * the job again after its backoff. Its message is what BullMQ keeps in Redis
 * and the worker logs: categories and codes only, never an address.
 */
export class TransientDeliveryError extends Error {
  constructor(readonly reasons: string[]) {
    super(`reminder not sent yet: ${reasons.join('; ')}`);
    this.name = 'TransientDeliveryError';
  }
}

interface StartedReminder {
  citizen_id: string;
  id: string;
  deadline_id: string;
  attempts: number;
  kind: string;
  title: Label;
  due_at: Date;
  action_url: string | null;
  organisation_id: string;
  deadline_status: DeadlineStatus;
  deadline_updated_at: Date;
  done: { channel: ChannelName; status: DeliveryStatus; reason: string | null }[];
  /** The citizen's preferences, read with the reminder. */
  language: Citizen['language'];
  channels: Citizen['channels'];
  quiet_hours: Citizen['quietHours'];
  erased: boolean;
}

interface ChannelResult {
  channel: ChannelName;
  status: DeliveryStatus;
  reason: string | null;
  providerRef?: string;
}

/** What one attempt writes at its end: the channels' new results, and the final status once there is one. */
interface Settlement {
  reminder: StartedReminder;
  results: ChannelResult[];
  final: FinalResult | null;
}

interface FinalResult {
  status: Exclude<DeliveryOutcome, 'deferred' | 'skipped'>;
  reason: string | null;
}

const CONTACT_ATTRIBUTES = { email: 'contact.email', phone: 'contact.phone' } as const;

/**
 * The data of a `reminder.<final status>` metric event, as SQL over the
 * reminder `x` and its deadline `d`: no citizen. `at`, the time of the
 * status, is the writer's.
 */
export const REMINDER_EVENT = {
  reminder: 'x.id',
  deadline: 'd.id',
  kind: 'd.kind',
  organisation: 'd.organisation_id',
  service: 'd.service_id',
  dueAt: 'd.due_at',
};

/** The start of a batch of sends (startMany). */
const START_SQL = `WITH started AS (
         UPDATE reminder SET attempts = attempts + 1, lease_until = $2
         WHERE id = ANY ($1::uuid[]) AND status = 'queued'
         RETURNING citizen_id, id, deadline_id, attempts)
       SELECT s.citizen_id, s.id, s.deadline_id, s.attempts, d.kind, d.title, d.due_at, d.action_url,
              d.organisation_id, d.status AS deadline_status, d.updated_at AS deadline_updated_at,
              (SELECT coalesce(json_agg(json_build_object('channel', rd.channel, 'status', rd.status,
                                                          'reason', rd.reason)), '[]')
                 FROM reminder_delivery rd
                WHERE rd.citizen_id = s.citizen_id AND rd.reminder_id = s.id) AS done,
              c.language, c.channels, c.quiet_hours, c.erased_at IS NOT NULL AS erased
       FROM started s JOIN deadline d ON d.citizen_id = s.citizen_id AND d.id = s.deadline_id
            JOIN citizen c ON c.id = s.citizen_id`;

/** The settlement of a batch of sends (settleMany). */
const SETTLE_SQL = `WITH recorded AS (
         INSERT INTO reminder_delivery (citizen_id, reminder_id, channel, status, reason, provider_ref, at)
         SELECT d.citizen_id, d.reminder_id, d.channel, d.status, d.reason, d.provider_ref, $11::timestamptz
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
                AS d(citizen_id, reminder_id, channel, status, reason, provider_ref)
         ON CONFLICT (citizen_id, reminder_id, channel) DO NOTHING),
       finished AS (
         UPDATE reminder r SET status = f.status, reason = f.reason, lease_until = NULL,
                sent_at = CASE WHEN f.status IN ('sent', 'delivered') THEN $11::timestamptz END,
                delivered_at = CASE WHEN f.status = 'delivered' THEN $11::timestamptz END,
                failed_at = CASE WHEN f.status = 'failed' THEN $11::timestamptz END
           FROM unnest($7::uuid[], $8::uuid[], $9::text[], $10::text[]) AS f(citizen_id, id, status, reason)
          WHERE r.citizen_id = f.citizen_id AND r.id = f.id AND r.status = 'queued'
         RETURNING r.id, r.deadline_id, r.status),
       events AS (
         ${metricEventsSql(`'reminder.' || x.status`, 'finished x JOIN deadline d ON d.id = x.deadline_id', {
           ...REMINDER_EVENT,
           at: '$11::timestamptz',
         })})
       SELECT id FROM finished`;

/** What a send needs beyond the channels' own timeouts: the vault, rendering, the status writes. */
const LEASE_MARGIN_MS = 5_000;

/** Writes of the channels' results, when the database fails: a provider that accepted is not asked again for a blip. */
const RECORD_TRIES = 4;
const RECORD_RETRY_MS = 250;

/** A send waits up to 2 ms at each of its statements for the sends that can share it; one that fails the batch (a value that does not open) fails alone. */
const BATCHING = { windowMs: 2, isolateFailures: true };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An unexpected error as its class and code only (`QueryFailedError 57P01`,
 * `Error ERR_CRYPTO_INVALID_TAG`): its text may quote personal data.
 */
export function errorCategory(error: unknown): string {
  if (error instanceof ChannelError) return error.message;
  const name = error instanceof Error && /^\w+$/.test(error.name) ? error.name : 'error';
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[\w.-]{1,40}$/.test(code) ? `${name} ${code}` : name;
}

/**
 * Sends one reminder through each channel the citizen enabled (rule 6). The
 * job carries the reminder id only: the deadline, the citizen's language and
 * channels, and their e-mail and phone (opened in the vault) are read here.
 * Each channel's result is recorded in reminder_delivery at the end of the
 * attempt (with the final status, or before a retry), and a channel with a
 * row is never tried again; the reminder id is
 * the idempotency key every channel hands on (Message-ID, Idempotency-Key,
 * notification id), so a send repeated after a crash between the provider's
 * acceptance and the row is recognisable as the same message.
 *
 * Final statuses: `delivered` when every channel used reports delivery,
 * `sent` when at least one channel took it, `suppressed` when no channel
 * could reach the citizen (the reason says why), `failed` when channels
 * refused it for good or still failed at the last attempt.
 *
 * The reminders being sent at once share their statements: their starts
 * (read with their citizens' preferences), their citizens' contact details
 * and their results are each read or written in one statement per batch
 * (Batcher), so a send costs a fraction of a round trip to PostgreSQL
 * rather than several.
 */
@Injectable()
export class ReminderDeliveryService {
  private readonly logger = new Logger(ReminderDeliveryService.name);
  /** Registered by the app in its metrics registry; labels hold no citizen data. */
  readonly sends = new Counter({
    name: 'reminder_sends_total',
    help: 'Reminder sends by channel and result (sent, delivered, failed, suppressed, retry)',
    labelNames: ['channel', 'status'] as const,
    registers: [],
  });
  private readonly starts = new Batcher((ids: string[]) => this.startMany(ids), BATCHING);
  private readonly contactReads = new Batcher((ids: string[]) => this.contactsOf(ids), BATCHING);
  private readonly settlements = new Batcher((items: Settlement[]) => this.settleMany(items), BATCHING);

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly registry: RegistryService,
    private readonly attributes: AttributesService,
    @Inject(REMINDER_CHANNELS) private readonly channels: ReminderChannel[],
  ) {
    // A send still running when its lease ends would be queued again by a sweep, and sent twice.
    const { leaseMs, sendTimeoutMs } = config.reminders;
    const needed = channels.length * sendTimeoutMs + LEASE_MARGIN_MS;
    if (leaseMs < needed) {
      throw new ConfigError([
        `REMINDER_LEASE_SECONDS: must be at least ${Math.ceil(needed / 1000)} (${channels.length} channels × ` +
          `REMINDER_SEND_TIMEOUT_SECONDS + ${LEASE_MARGIN_MS / 1000} s), so that a send ends within its lease`,
      ]);
    }
  }

  /**
   * One attempt at the reminder. Whatever fails (a channel, the vault, the
   * database, rendering) is tried again while attempts are left, and
   * recorded as `failed` at the last one: no reminder stays queued for ever.
   */
  async deliver(reminderId: string): Promise<DeliveryOutcome> {
    let reminder: StartedReminder | null;
    try {
      reminder = await this.starts.submit(reminderId);
    } catch (error) {
      // Not counted: the sweep queues the reminder again when its lease runs out.
      throw new TransientDeliveryError([errorCategory(error)]);
    }
    if (!reminder) return 'skipped';
    try {
      return await this.attempt(reminder);
    } catch (error) {
      if (error instanceof TransientDeliveryError) throw error;
      const reason = `unexpected error: ${errorCategory(error)}`;
      this.logger.warn({ reminderId, attempt: reminder.attempts, reason }, 'reminder attempt failed');
      if (reminder.attempts < this.config.reminders.attempts) throw new TransientDeliveryError([reason]);
      try {
        return await this.finish(reminder, { status: 'failed', reason: `last attempt: ${reason}` });
      } catch (failure) {
        // The lease runs out and the sweep, seeing no attempt left, records the failure.
        throw new TransientDeliveryError([reason, errorCategory(failure)]);
      }
    }
  }

  private async attempt(reminder: StartedReminder): Promise<DeliveryOutcome> {
    const suppress = (reason: string) => this.finish(reminder, { status: 'suppressed', reason });
    if (reminder.erased) return suppress("the citizen's data was erased");
    // A backlog after an outage, or a retry, can fall in the citizen's quiet hours: it waits for their end.
    const now = this.clock.now();
    if (inQuietHours(now, reminder.quiet_hours)) {
      const sendAt = placeOutOfQuietHours(now, reminder.quiet_hours, new Date(reminder.due_at));
      if (sendAt.getTime() > now.getTime()) return this.defer(reminder, sendAt);
    }
    const enabled = this.channels.filter((channel) => reminder.channels[channel.name]);
    if (enabled.length === 0) return suppress("no channel enabled in the citizen's preferences");
    const done = new Set(reminder.done.map((row) => row.channel));
    const pending = enabled.filter((channel) => !done.has(channel.name));
    const contacts = pending.length > 0 ? await this.contactReads.submit(reminder.citizen_id) : null;
    let message: ReminderMessage | null = null;
    const fresh: ChannelResult[] = [];
    const transient: { channel: ChannelName; reason: string }[] = [];
    for (const channel of pending) {
      const unusable = channel.unusable(contacts!);
      if (unusable) {
        fresh.push({ channel: channel.name, status: 'suppressed', reason: unusable });
        continue;
      }
      message ??= this.render(reminder, reminder.language);
      try {
        const receipt = await channel.send(message, contacts!);
        fresh.push({
          channel: channel.name,
          status: receipt.status,
          reason: null,
          providerRef: receipt.providerRef,
        });
      } catch (error) {
        const reason = errorCategory(error);
        if (error instanceof PermanentChannelError) {
          fresh.push({ channel: channel.name, status: 'failed', reason });
        } else {
          transient.push({ channel: channel.name, reason });
        }
      }
    }
    if (transient.length > 0) {
      if (reminder.attempts < this.config.reminders.attempts) {
        // What did go out is recorded now, so that the next attempt does not send it again.
        if (fresh.length > 0) await this.record({ reminder, results: fresh, final: null });
        for (const { channel } of transient) this.sends.inc({ channel, status: 'retry' });
        throw new TransientDeliveryError(transient.map(({ channel, reason }) => `${channel}: ${reason}`));
      }
      for (const { channel, reason } of transient) {
        fresh.push({ channel, status: 'failed', reason: `last attempt: ${reason}` });
      }
    }
    return this.finish(reminder, this.conclude([...reminder.done, ...fresh]), fresh);
  }

  /**
   * Counts the attempt and renews the lease of each reminder still queued
   * (not cancelled, not sent meanwhile); with its deadline, what each
   * channel already did and the citizen's preferences; null for the others.
   */
  private async startMany(reminderIds: string[]): Promise<(StartedReminder | null)[]> {
    const leaseUntil = new Date(this.clock.now().getTime() + this.config.reminders.leaseMs);
    // Not a named statement: planned for each batch's ids, as a generic plan was not always.
    const rows: StartedReminder[] = await this.dataSource.query(START_SQL, [reminderIds, leaseUntil]);
    const started = new Map(rows.map((row) => [row.id, row]));
    return reminderIds.map((id) => started.get(id) ?? null);
  }

  /** E-mail and phone from the vault, opened for this send only. */
  private async contactsOf(citizenIds: string[]): Promise<Contacts[]> {
    const held = await this.attributes.valuesOfMany(citizenIds, Object.values(CONTACT_ATTRIBUTES));
    return citizenIds.map((citizenId) => {
      const text = (code: string) => {
        const value = held.get(citizenId)?.get(code);
        return typeof value === 'string' && value.length > 0 ? value : null;
      };
      return { email: text(CONTACT_ATTRIBUTES.email), phone: text(CONTACT_ATTRIBUTES.phone) };
    });
  }

  private render(reminder: StartedReminder, language: 'fr' | 'en'): ReminderMessage {
    const organisation = this.registry.current().organisation(reminder.organisation_id)?.name ?? {
      fr: reminder.organisation_id,
      en: reminder.organisation_id,
    };
    const dueAt = new Date(reminder.due_at);
    const text = reminderText({
      kind: reminder.kind,
      title: reminder.title,
      dueAt,
      now: this.clock.now(),
      actionUrl: reminder.action_url,
      organisation,
      language,
    });
    return {
      ...text,
      reminderId: reminder.id,
      citizenId: reminder.citizen_id,
      deadlineId: reminder.deadline_id,
      language,
      actionUrl: reminder.action_url,
      calendar: deadlineCalendar(
        [
          {
            id: reminder.deadline_id,
            title: reminder.title,
            dueAt,
            actionUrl: reminder.action_url,
            status: reminder.deadline_status,
            updatedAt: new Date(reminder.deadline_updated_at),
          },
        ],
        language,
      ),
    };
  }

  /** The reminder's final status from its channels' results. */
  private conclude(results: ChannelResult[]): FinalResult {
    const used = results.filter((result) => result.status === 'sent' || result.status === 'delivered');
    const why = (status: DeliveryStatus) =>
      results
        .filter((result) => result.status === status)
        .map((result) => `${result.channel}: ${result.reason}`)
        .join('; ');
    if (used.length > 0) {
      return {
        status: used.every((result) => result.status === 'delivered') ? 'delivered' : 'sent',
        reason: null,
      };
    }
    if (results.some((result) => result.status === 'failed'))
      return { status: 'failed', reason: why('failed') };
    return { status: 'suppressed', reason: why('suppressed') };
  }

  /** Writes the final status with the channels' new results; `skipped` when the reminder is no longer queued. */
  private async finish(
    reminder: StartedReminder,
    final: FinalResult,
    results: ChannelResult[] = [],
  ): Promise<DeliveryOutcome> {
    if (await this.record({ reminder, results, final })) return final.status;
    this.logger.warn({ reminderId: reminder.id }, 'reminder left the queued status while being sent');
    return 'skipped';
  }

  /**
   * Records the attempt's channel results (each written once: a row already
   * there, a concurrent attempt's, is kept) and its final status if it has
   * one, only while the reminder is still queued (a cancellation meanwhile
   * wins); whether that status was written. Tried a few times before giving
   * up: a send whose result is not recorded is sent again.
   */
  private async record(settlement: Settlement): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        const finished = await this.settlements.submit(settlement);
        for (const { channel, status } of settlement.results) this.sends.inc({ channel, status });
        return finished;
      } catch (error) {
        if (tries >= RECORD_TRIES) throw error;
        this.logger.warn(
          { reminderId: settlement.reminder.id, error: errorCategory(error) },
          'reminder results not recorded yet',
        );
        await sleep(RECORD_RETRY_MS * tries);
      }
    }
  }

  /**
   * The settlements of the attempts ending together, in one statement; for
   * each, whether its final status was written. A final status written
   * writes its metric event `reminder.<status>` with it (rule 7): the
   * reminder, its deadline's id, kind, organisation, service and due time,
   * and when; never the citizen.
   */
  private async settleMany(settlements: Settlement[]): Promise<boolean[]> {
    const deliveries = settlements.flatMap(({ reminder, results }) =>
      results.map((result) => ({ reminder, ...result })),
    );
    const finals = settlements.filter((settlement) => settlement.final);
    const rows = await preparedQuery<{ id: string }>(this.dataSource, 'reminder-settle', SETTLE_SQL, [
      deliveries.map((row) => row.reminder.citizen_id),
      deliveries.map((row) => row.reminder.id),
      deliveries.map((row) => row.channel),
      deliveries.map((row) => row.status),
      deliveries.map((row) => row.reason),
      deliveries.map((row) => row.providerRef ?? null),
      finals.map(({ reminder }) => reminder.citizen_id),
      finals.map(({ reminder }) => reminder.id),
      finals.map(({ final }) => final!.status),
      finals.map(({ final }) => final!.reason),
      this.clock.now(),
    ]);
    const written = new Set(rows.map((row) => row.id));
    return settlements.map(({ reminder }) => written.has(reminder.id));
  }

  /**
   * Back to scheduled at `sendAt`, the attempt not counted: the reminder
   * reached a worker inside the citizen's quiet hours.
   */
  private async defer(reminder: StartedReminder, sendAt: Date): Promise<DeliveryOutcome> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH deferred AS (
         UPDATE reminder SET status = 'scheduled', send_at = $3, attempts = attempts - 1,
                queued_at = NULL, lease_until = NULL
         WHERE citizen_id = $1 AND id = $2 AND status = 'queued'
         RETURNING id)
       SELECT id FROM deferred`,
      [reminder.citizen_id, reminder.id, sendAt],
    );
    return rows.length === 0 ? 'skipped' : 'deferred';
  }
}
