import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Batcher, preparedQuery } from '#libs/database';
import type { ChannelReceipt, ReminderChannel, ReminderMessage } from './channel.js';

const INSERT_NOTIFICATIONS = `INSERT INTO notification (citizen_id, id, deadline_id, language, subject, body, action_url)
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
  ON CONFLICT (citizen_id, id) DO NOTHING`;

/**
 * A notification the citizen reads in the portal (vault `GET
 * /v1/me/notifications`). Its id is the reminder's, so a send repeated after
 * a crash writes nothing more. Delivered as soon as it is written; the
 * notifications of reminders sent together are written in one statement.
 */
@Injectable()
export class PortalChannel implements ReminderChannel {
  readonly name = 'portal' as const;
  private readonly inserts = new Batcher((messages: ReminderMessage[]) => this.insert(messages), {
    windowMs: 2,
    isolateFailures: true,
  });

  constructor(private readonly dataSource: DataSource) {}

  unusable(): string | null {
    return null;
  }

  async send(message: ReminderMessage): Promise<ChannelReceipt> {
    await this.inserts.submit(message);
    return { status: 'delivered' };
  }

  private async insert(messages: ReminderMessage[]): Promise<void[]> {
    const column = <K extends keyof ReminderMessage>(key: K) => messages.map((message) => message[key]);
    await preparedQuery(this.dataSource, 'notifications-insert', INSERT_NOTIFICATIONS, [
      column('citizenId'),
      column('reminderId'),
      column('deadlineId'),
      column('language'),
      column('subject'),
      column('text'),
      column('actionUrl'),
    ]);
    return messages.map(() => undefined);
  }
}
