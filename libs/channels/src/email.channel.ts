import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { AppConfig } from '#libs/config';
import type { ChannelReceipt, Contacts, ReminderChannel, ReminderMessage } from './channel.js';
import { PermanentChannelError } from './channel.js';

/** The domain of MAIL_FROM (`Name <local@domain>` or `local@domain`), which Message-IDs are under. */
export function mailDomain(mailFrom: string): string {
  const address = /<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom;
  return address.slice(address.lastIndexOf('@') + 1).trim() || 'une-fois.localhost';
}

/** The reminder's Message-ID: the same on every attempt, so a receiver can tell a resend. */
export function reminderMessageId(reminderId: string, mailFrom: string): string {
  return `<${reminderId}@${mailDomain(mailFrom)}>`;
}

/**
 * E-mail over SMTP (SMTP_URL, from MAIL_FROM): a text and an HTML part, and
 * the deadline as an .ics event. Pooled connections, each step bounded by
 * REMINDER_SEND_TIMEOUT_SECONDS. A 5xx answer of the server is permanent;
 * a 4xx, a timeout or a lost connection is tried again.
 */
@Injectable()
export class EmailChannel implements ReminderChannel, OnModuleDestroy {
  readonly name = 'email' as const;
  private transport: Transporter | null = null;

  constructor(private readonly config: AppConfig) {}

  unusable(contacts: Contacts): string | null {
    if (!this.config.reminders.smtpUrl) return 'no SMTP server configured';
    if (!contacts.email) return 'no e-mail address in the vault';
    return null;
  }

  async send(message: ReminderMessage, contacts: Contacts): Promise<ChannelReceipt> {
    const { mailFrom } = this.config.reminders;
    try {
      const info = (await this.transporter().sendMail({
        from: mailFrom,
        to: contacts.email!,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: reminderMessageId(message.reminderId, mailFrom),
        headers: { 'Content-Language': message.language },
        attachments: [
          {
            filename: message.language === 'fr' ? 'echeance.ics' : 'deadline.ics',
            content: message.calendar,
            contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
          },
        ],
      })) as { response?: string };
      return { status: 'sent', providerRef: info.response?.slice(0, 200) };
    } catch (error) {
      const { responseCode, message: text } = error as { responseCode?: number; message: string };
      if (responseCode !== undefined && responseCode >= 500) throw new PermanentChannelError(text);
      throw error;
    }
  }

  private transporter(): Transporter {
    const { smtpUrl, sendTimeoutMs, concurrency } = this.config.reminders;
    this.transport ??= nodemailer.createTransport({
      url: smtpUrl!,
      pool: true,
      maxConnections: Math.min(concurrency, 16),
      connectionTimeout: sendTimeoutMs,
      greetingTimeout: sendTimeoutMs,
      socketTimeout: sendTimeoutMs,
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return this.transport;
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }
}
