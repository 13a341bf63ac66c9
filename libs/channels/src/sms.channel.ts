import { Injectable } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { requestChecked } from '#libs/outbound';
import type { ChannelReceipt, Contacts, ReminderChannel, ReminderMessage } from './channel.js';
import { PermanentChannelError } from './channel.js';

/**
 * SMS through an HTTP provider: `POST {to, body}` to SMS_PROVIDER_URL with
 * `Authorization: Bearer <SMS_PROVIDER_KEY>` and `Idempotency-Key: <reminder
 * id>`, within REMINDER_SEND_TIMEOUT_SECONDS. 2xx: sent (delivered when the
 * answer's `status` says so); 4xx: refused for good; anything else, a timeout
 * included: tried again, under the same key.
 */
@Injectable()
export class SmsChannel implements ReminderChannel {
  readonly name = 'sms' as const;

  constructor(private readonly config: AppConfig) {}

  unusable(contacts: Contacts): string | null {
    if (!this.config.reminders.sms) return 'no SMS provider configured';
    if (!contacts.phone) return 'no phone number in the vault';
    return null;
  }

  async send(message: ReminderMessage, contacts: Contacts): Promise<ChannelReceipt> {
    const provider = this.config.reminders.sms!;
    const answer = await requestChecked(
      provider.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${provider.key}`,
          'idempotency-key': message.reminderId,
        },
        body: JSON.stringify({ to: contacts.phone, body: message.sms }),
        maxBodyBytes: 16 * 1024,
      },
      // The operator's own provider, which may sit on a private network: not a third party's URL.
      { production: false, timeoutMs: this.config.reminders.sendTimeoutMs },
    );
    if (answer.status >= 400 && answer.status < 500) {
      throw new PermanentChannelError(`SMS provider refused the message: HTTP ${answer.status}`);
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`SMS provider answered HTTP ${answer.status}`);
    }
    const { id, status } = parseAnswer(answer.body);
    return { status: status === 'delivered' ? 'delivered' : 'sent', providerRef: id };
  }
}

/** The provider's `{id?, status?}`, or nothing when its answer is not that. */
function parseAnswer(body: Buffer): { id?: string; status?: string } {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown; status?: unknown };
    return {
      id: typeof parsed.id === 'string' ? parsed.id.slice(0, 200) : undefined,
      status: typeof parsed.status === 'string' ? parsed.status : undefined,
    };
  } catch {
    return {};
  }
}
