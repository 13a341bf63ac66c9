import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { AppConfig, ConfigError } from '#libs/config';
import type { ChannelReceipt, Contacts, ReminderChannel, ReminderMessage } from './channel.js';
import { PermanentChannelError, TransientChannelError } from './channel.js';
import { composeMail, type MailSender, mailSender, splitMailbox, UnsendableAddressError } from './mime.js';

/** The domain of MAIL_FROM (`Name <local@domain>` or `local@domain`), which Message-IDs are under. */
export function mailDomain(mailFrom: string): string {
  const { address } = splitMailbox(mailFrom);
  return address.slice(address.lastIndexOf('@') + 1).trim() || 'une-fois.localhost';
}

/** The reminder's Message-ID: the same on every attempt, so a receiver can tell a resend. */
export function reminderMessageId(reminderId: string, mailFrom: string): string {
  return `<${reminderId}@${mailDomain(mailFrom)}>`;
}

/**
 * SMTP answers that say "not now" although 5xx, or that concern our own
 * access rather than the message: authentication required (530), refused
 * (535) or temporarily unavailable (454). Tried again: fixing the server's
 * credentials must not have failed every reminder meanwhile.
 */
const TRANSIENT_SMTP_CODES = new Set([454, 530, 535]);

/** nodemailer's codes for a failed login (EAUTH) or TLS upgrade (ETLS): the server's setup, not the message. */
const TRANSIENT_NODEMAILER_CODES = new Set(['EAUTH', 'ETLS']);

/**
 * An SMTP failure as a category and codes only (`SMTP 450 4.1.1`, `SMTP
 * ETIMEDOUT`): nodemailer's texts quote the recipient's address. 5xx answers
 * are permanent but for TRANSIENT_SMTP_CODES; 4xx answers, authentication
 * and STARTTLS failures, timeouts and lost connections are transient.
 */
export function smtpError(error: unknown): PermanentChannelError | TransientChannelError {
  const { responseCode, response, code } = error as {
    responseCode?: unknown;
    response?: unknown;
    code?: unknown;
  };
  if (typeof responseCode === 'number') {
    const enhanced =
      typeof response === 'string' ? /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] : undefined;
    const category = `SMTP ${responseCode}${enhanced ? ` ${enhanced}` : ''}`;
    return responseCode >= 500 &&
      !TRANSIENT_SMTP_CODES.has(responseCode) &&
      !TRANSIENT_NODEMAILER_CODES.has(code as string)
      ? new PermanentChannelError(category)
      : new TransientChannelError(category);
  }
  return new TransientChannelError(
    `SMTP ${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'error'}`,
  );
}

/**
 * E-mail over SMTP (SMTP_URL, from MAIL_FROM): a text and an HTML part, and
 * the deadline as an .ics event, composed here (composeMail) and handed to
 * nodemailer's transport as a finished message. Pooled connections; a send has
 * REMINDER_SEND_TIMEOUT_SECONDS overall, however slowly the server answers:
 * past it the pool is torn down (its other sends fail for now and are tried
 * again) and a fresh one serves the next send. In production an smtp:// server
 * must offer STARTTLS (smtps:// is TLS from the start).
 */
@Injectable()
export class EmailChannel implements ReminderChannel, OnModuleDestroy {
  readonly name = 'email' as const;
  private transport: Transporter | null = null;
  /** MAIL_FROM checked and written once; null with no SMTP server, when nothing is sent. */
  private readonly sender: MailSender | null = null;

  constructor(private readonly config: AppConfig) {
    const { smtpUrl, mailFrom } = config.reminders;
    try {
      if (smtpUrl) this.sender = mailSender(mailFrom);
    } catch {
      throw new ConfigError(['MAIL_FROM: not an address mail can be sent from (`Name <local@domain>`)']);
    }
  }

  unusable(contacts: Contacts): string | null {
    if (!this.config.reminders.smtpUrl) return 'no SMTP server configured';
    if (!contacts.email) return 'no e-mail address in the vault';
    return null;
  }

  async send(message: ReminderMessage, contacts: Contacts): Promise<ChannelReceipt> {
    const { mailFrom, sendTimeoutMs } = this.config.reminders;
    const messageId = reminderMessageId(message.reminderId, mailFrom);
    let mail;
    try {
      mail = composeMail({
        from: this.sender!,
        to: contacts.email!,
        messageId,
        date: new Date(),
        language: message.language,
        subject: message.subject,
        text: message.text,
        html: message.html,
        attachment: {
          filename: message.language === 'fr' ? 'echeance.ics' : 'deadline.ics',
          content: message.calendar,
          contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
        },
      });
    } catch (error) {
      if (error instanceof UnsendableAddressError) throw new PermanentChannelError(`SMTP ${error.message}`);
      throw error;
    }
    const transport = this.transporter();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.drop(transport);
        reject(new TransientChannelError(`SMTP no answer within ${sendTimeoutMs} ms`));
      }, sendTimeoutMs);
    });
    const sending = transport.sendMail({
      envelope: { from: mail.envelope.from, to: [mail.envelope.to] },
      raw: mail.raw,
      // The raw message's own Message-ID, told to nodemailer so it does not draw one of its own to log.
      messageId,
    }) as Promise<{ response?: string }>;
    // Settled after the deadline too (the pool torn down rejects it): never an unhandled rejection.
    sending.catch(() => undefined);
    try {
      const info = await Promise.race([sending, deadline]);
      return { status: 'sent', providerRef: info.response?.slice(0, 200) };
    } catch (error) {
      throw error instanceof TransientChannelError ? error : smtpError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  private transporter(): Transporter {
    const { smtpUrl, smtpRequireTls, sendTimeoutMs, concurrency } = this.config.reminders;
    this.transport ??= nodemailer.createTransport({
      url: smtpUrl!,
      pool: true,
      maxConnections: Math.min(concurrency, 16),
      requireTLS: smtpRequireTls,
      connectionTimeout: sendTimeoutMs,
      greetingTimeout: sendTimeoutMs,
      socketTimeout: sendTimeoutMs,
      // Closing destroys the sockets at once: a server that trickles bytes keeps nothing open.
      socketCloseTimeout: 0,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return this.transport;
  }

  /**
   * Tears down the pool a send overran, the connections busy sending too
   * (nodemailer's `force`, typed in @types/nodemailer without it); the next
   * send opens a new pool.
   */
  private drop(transport: Transporter): void {
    if (this.transport === transport) this.transport = null;
    (transport.close as (options?: { force: boolean }) => void)({ force: true });
  }

  onModuleDestroy(): void {
    if (this.transport) this.drop(this.transport);
  }
}
