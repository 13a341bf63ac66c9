import type { ChannelName } from './channel-names.js';

export type Language = 'fr' | 'en';

/** A reminder as every channel sends it: rendered once, in the citizen's language. */
export interface ReminderMessage {
  /** The idempotency key of every send: Message-ID, Idempotency-Key, the notification's id. */
  reminderId: string;
  citizenId: string;
  deadlineId: string;
  language: Language;
  subject: string;
  text: string;
  html: string;
  /** At most 160 characters. */
  sms: string;
  actionUrl: string | null;
  /** The deadline as an RFC 5545 calendar (method PUBLISH), attached to the e-mail. */
  calendar: string;
}

/** The citizen's contact details, read from the vault for this send and never kept. */
export interface Contacts {
  email: string | null;
  phone: string | null;
}

export interface ChannelReceipt {
  /** `delivered` when the channel reports the message reached the citizen, else `sent`. */
  status: 'sent' | 'delivered';
  providerRef?: string;
}

/**
 * One way of reaching a citizen. A channel is added by writing one more
 * adapter and listing it in ChannelsModule; no other channel changes.
 */
export interface ReminderChannel {
  readonly name: ChannelName;
  /** Why this channel cannot reach the citizen (no address, no provider configured), or null when it can. */
  unusable(contacts: Contacts): string | null;
  /**
   * Sends, idempotently on `message.reminderId`. Throws PermanentChannelError
   * when the channel refuses the message for good, TransientChannelError when
   * another attempt may succeed; both carry a category and codes only (no
   * address, no provider text). Any other error is taken as transient too.
   */
  send(message: ReminderMessage, contacts: Contacts): Promise<ChannelReceipt>;
}

/**
 * A channel's failure, described by a category and codes only (`SMTP 450
 * 4.1.1`, `HTTP 503`, `timeout`): it ends up in job records in Redis, in logs
 * and in the reminder's row, none of which may hold an address.
 */
export abstract class ChannelError extends Error {}

/** A refusal that another attempt would not change (an address rejected, a request the provider will never take). */
export class PermanentChannelError extends ChannelError {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentChannelError';
  }
}

/** A failure for now (a server busy, unreachable or too slow): the send is tried again later. */
export class TransientChannelError extends ChannelError {
  constructor(message: string) {
    super(message);
    this.name = 'TransientChannelError';
  }
}

/** Every channel adapter, in the order they are tried. */
export const REMINDER_CHANNELS = Symbol('une-fois:reminder-channels');
