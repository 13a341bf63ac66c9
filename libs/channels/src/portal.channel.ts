import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ChannelReceipt, ReminderChannel, ReminderMessage } from './channel.js';

/**
 * A notification the citizen reads in the portal (vault `GET
 * /v1/me/notifications`). Its id is the reminder's, so a send repeated after
 * a crash writes nothing more. Delivered as soon as it is written.
 */
@Injectable()
export class PortalChannel implements ReminderChannel {
  readonly name = 'portal' as const;

  constructor(private readonly dataSource: DataSource) {}

  unusable(): string | null {
    return null;
  }

  async send(message: ReminderMessage): Promise<ChannelReceipt> {
    await this.dataSource.query(
      `INSERT INTO notification (citizen_id, id, deadline_id, language, subject, body, action_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (citizen_id, id) DO NOTHING`,
      [
        message.citizenId,
        message.reminderId,
        message.deadlineId,
        message.language,
        message.subject,
        message.text,
        message.actionUrl,
      ],
    );
    return { status: 'delivered' };
  }
}
