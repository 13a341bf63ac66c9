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
import { AttributesService, CitizensService } from '#libs/vault';
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
}

interface ChannelResult {
  channel: ChannelName;
  status: DeliveryStatus;
  reason: string | null;
}

const CONTACT_ATTRIBUTES = { email: 'contact.email', phone: 'contact.phone' } as const;

/** What a send needs beyond the channels' own timeouts: the vault, rendering, the status writes. */
const LEASE_MARGIN_MS = 5_000;

/** Writes of a channel's result, when the database fails: a provider that accepted is not asked again for a blip. */
const RECORD_TRIES = 4;
const RECORD_RETRY_MS = 250;

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
 * Each channel's result is recorded in reminder_delivery as soon as it is
 * known, and a channel with a row is never tried again; the reminder id is
 * the idempotency key every channel hands on (Message-ID, Idempotency-Key,
 * notification id), so a send repeated after a crash between the provider's
 * acceptance and the row is recognisable as the same message.
 *
 * Final statuses: `delivered` when every channel used reports delivery,
 * `sent` when at least one channel took it, `suppressed` when no channel
 * could reach the citizen (the reason says why), `failed` when channels
 * refused it for good or still failed at the last attempt.
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

  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly registry: RegistryService,
    private readonly citizens: CitizensService,
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
      reminder = await this.start(reminderId);
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
        return await this.finish(reminder, 'failed', `last attempt: ${reason}`);
      } catch (failure) {
        // The lease runs out and the sweep, seeing no attempt left, records the failure.
        throw new TransientDeliveryError([reason, errorCategory(failure)]);
      }
    }
  }

  private async attempt(reminder: StartedReminder): Promise<DeliveryOutcome> {
    const citizen = await this.citizens.get(reminder.citizen_id);
    if (citizen.erasedAt) return this.finish(reminder, 'suppressed', "the citizen's data was erased");
    // A backlog after an outage, or a retry, can fall in the citizen's quiet hours: it waits for their end.
    const now = this.clock.now();
    if (inQuietHours(now, citizen.quietHours)) {
      const sendAt = placeOutOfQuietHours(now, citizen.quietHours, new Date(reminder.due_at));
      if (sendAt.getTime() > now.getTime()) return this.defer(reminder, sendAt);
    }
    const enabled = this.channels.filter((channel) => citizen.channels[channel.name]);
    if (enabled.length === 0) {
      return this.finish(reminder, 'suppressed', "no channel enabled in the citizen's preferences");
    }
    const done = new Set(reminder.done.map((row) => row.channel));
    const results: ChannelResult[] = [...reminder.done];
    const pending = enabled.filter((channel) => !done.has(channel.name));
    const contacts = pending.length > 0 ? await this.contacts(reminder.citizen_id) : null;
    let message: ReminderMessage | null = null;
    const transient: { channel: ChannelName; reason: string }[] = [];
    for (const channel of pending) {
      const unusable = channel.unusable(contacts!);
      if (unusable) {
        results.push(await this.record(reminder, channel.name, 'suppressed', unusable));
        continue;
      }
      message ??= this.render(reminder, citizen.language);
      try {
        const receipt = await channel.send(message, contacts!);
        results.push(await this.record(reminder, channel.name, receipt.status, null, receipt.providerRef));
      } catch (error) {
        const reason = errorCategory(error);
        if (error instanceof PermanentChannelError) {
          results.push(await this.record(reminder, channel.name, 'failed', reason));
        } else {
          transient.push({ channel: channel.name, reason });
        }
      }
    }
    if (transient.length > 0) {
      if (reminder.attempts < this.config.reminders.attempts) {
        for (const { channel } of transient) this.sends.inc({ channel, status: 'retry' });
        throw new TransientDeliveryError(transient.map(({ channel, reason }) => `${channel}: ${reason}`));
      }
      for (const { channel, reason } of transient) {
        results.push(await this.record(reminder, channel, 'failed', `last attempt: ${reason}`));
      }
    }
    return this.conclude(reminder, results);
  }

  /**
   * Counts the attempt and renews the lease, if the reminder is still queued
   * (not cancelled, not sent meanwhile); with its deadline and what each
   * channel already did.
   */
  private async start(reminderId: string): Promise<StartedReminder | null> {
    const leaseUntil = new Date(this.clock.now().getTime() + this.config.reminders.leaseMs);
    const rows: StartedReminder[] = await this.dataSource.query(
      `WITH started AS (
         UPDATE reminder SET attempts = attempts + 1, lease_until = $2
         WHERE id = $1 AND status = 'queued'
         RETURNING citizen_id, id, deadline_id, attempts)
       SELECT s.citizen_id, s.id, s.deadline_id, s.attempts, d.kind, d.title, d.due_at, d.action_url,
              d.organisation_id, d.status AS deadline_status, d.updated_at AS deadline_updated_at,
              (SELECT coalesce(json_agg(json_build_object('channel', rd.channel, 'status', rd.status,
                                                          'reason', rd.reason)), '[]')
                 FROM reminder_delivery rd
                WHERE rd.citizen_id = s.citizen_id AND rd.reminder_id = s.id) AS done
       FROM started s JOIN deadline d ON d.citizen_id = s.citizen_id AND d.id = s.deadline_id`,
      [reminderId, leaseUntil],
    );
    return rows[0] ?? null;
  }

  /** E-mail and phone from the vault, opened for this send only. */
  private async contacts(citizenId: string): Promise<Contacts> {
    const values = await this.attributes.values(citizenId, Object.values(CONTACT_ATTRIBUTES));
    const text = (code: string) => {
      const value = values.get(code);
      return typeof value === 'string' && value.length > 0 ? value : null;
    };
    return { email: text(CONTACT_ATTRIBUTES.email), phone: text(CONTACT_ATTRIBUTES.phone) };
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

  /**
   * One channel's result, written once: a row already there (a concurrent
   * attempt's) is kept. Tried a few times before giving up: a send whose
   * result is not recorded is sent again.
   */
  private async record(
    reminder: StartedReminder,
    channel: ChannelName,
    status: DeliveryStatus,
    reason: string | null,
    providerRef?: string,
  ): Promise<ChannelResult> {
    for (let tries = 1; ; tries++) {
      try {
        await this.dataSource.query(
          `INSERT INTO reminder_delivery (citizen_id, reminder_id, channel, status, reason, provider_ref, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (citizen_id, reminder_id, channel) DO NOTHING`,
          [reminder.citizen_id, reminder.id, channel, status, reason, providerRef ?? null, this.clock.now()],
        );
        break;
      } catch (error) {
        if (tries >= RECORD_TRIES) throw error;
        this.logger.warn(
          { reminderId: reminder.id, channel, error: errorCategory(error) },
          'channel result not recorded yet',
        );
        await sleep(RECORD_RETRY_MS * tries);
      }
    }
    this.sends.inc({ channel, status });
    return { channel, status, reason };
  }

  /** The reminder's status from its channels' results. */
  private conclude(reminder: StartedReminder, results: ChannelResult[]): Promise<DeliveryOutcome> {
    const used = results.filter((result) => result.status === 'sent' || result.status === 'delivered');
    const why = (status: DeliveryStatus) =>
      results
        .filter((result) => result.status === status)
        .map((result) => `${result.channel}: ${result.reason}`)
        .join('; ');
    if (used.length > 0) {
      return this.finish(
        reminder,
        used.every((result) => result.status === 'delivered') ? 'delivered' : 'sent',
        null,
      );
    }
    if (results.some((result) => result.status === 'failed'))
      return this.finish(reminder, 'failed', why('failed'));
    return this.finish(reminder, 'suppressed', why('suppressed'));
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

  /** Writes the final status, only while the reminder is still queued (a cancellation meanwhile wins). */
  private async finish(
    reminder: StartedReminder,
    status: Exclude<DeliveryOutcome, 'deferred' | 'skipped'>,
    reason: string | null,
  ): Promise<DeliveryOutcome> {
    const now = this.clock.now();
    const rows: unknown[] = await this.dataSource.query(
      `WITH finished AS (
         UPDATE reminder SET status = $3, reason = $4, lease_until = NULL,
                sent_at = CASE WHEN $3 IN ('sent', 'delivered') THEN $5::timestamptz END,
                delivered_at = CASE WHEN $3 = 'delivered' THEN $5::timestamptz END,
                failed_at = CASE WHEN $3 = 'failed' THEN $5::timestamptz END
         WHERE citizen_id = $1 AND id = $2 AND status = 'queued'
         RETURNING id)
       SELECT id FROM finished`,
      [reminder.citizen_id, reminder.id, status, reason, now],
    );
    if (rows.length === 0) {
      this.logger.warn({ reminderId: reminder.id }, 'reminder left the queued status while being sent');
      return 'skipped';
    }
    return status;
  }
}
