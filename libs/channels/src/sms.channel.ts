import { Injectable } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { requestChecked } from '#libs/outbound';
import type { ChannelReceipt, Contacts, ReminderChannel, ReminderMessage } from './channel.js';
import { PermanentChannelError, TransientChannelError } from './channel.js';

/**
 * 4xx answers that are not about the message: our key refused or not yet
 * valid (401, 403: the operator fixes it), too slow (408), the same
 * Idempotency-Key still being processed (409, 425: not a failure), too many
 * requests (429).
 */
const TRANSIENT_HTTP_STATUSES = new Set([401, 403, 408, 409, 425, 429]);

/**
 * SMS through an HTTP provider: `POST {to, body}` to SMS_PROVIDER_URL with
 * `Authorization: Bearer <SMS_PROVIDER_KEY>` and `Idempotency-Key: <reminder
 * id>`, within REMINDER_SEND_TIMEOUT_SECONDS. 2xx: sent (delivered when the
 * answer's `status` says so); a 4xx of TRANSIENT_HTTP_STATUSES, a 5xx, no
 * answer in time: tried again, under the same key; any other answer: refused
 * for good.
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
    ).catch((error: { code?: unknown }) => {
      // A category only: the error's text is never passed on.
      const code = typeof error.code === 'string' && /^[A-Z_]+$/.test(error.code) ? error.code : 'no answer';
      throw new TransientChannelError(`SMS provider: ${code}`);
    });
    if (answer.status >= 400 && answer.status < 500 && !TRANSIENT_HTTP_STATUSES.has(answer.status)) {
      throw new PermanentChannelError(`SMS provider: HTTP ${answer.status}`);
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new TransientChannelError(`SMS provider: HTTP ${answer.status}`);
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
