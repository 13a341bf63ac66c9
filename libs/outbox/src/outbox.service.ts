import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type NewOutboxRow, outboxInsertSql, outboxRowValues } from './outbox-sql.js';

export interface NewWebhookEvent {
  type: string;
  serviceId: string;
  url: string;
  data: Record<string, unknown>;
}

export interface NewMetricEvent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * The id of an event that happens once per key (a service active on a day):
 * every writer of it computes the same id, so the row is written once and the
 * barometer, which dedupes by id, counts it once. A UUID in form (RFC 9562 v8).
 */
export function onceEventId(type: string, ...key: string[]): string {
  const hex = createHash('sha256')
    .update([type, ...key].join('\u001f'))
    .digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Writes events in the caller's transaction; the scheduler delivers them. */
@Injectable()
export class OutboxService {
  async webhook(em: EntityManager, event: NewWebhookEvent): Promise<string> {
    return this.insert(em, {
      topic: 'webhook',
      type: event.type,
      serviceId: event.serviceId,
      url: event.url,
      data: event.data,
    });
  }

  async metric(em: EntityManager, event: NewMetricEvent): Promise<string> {
    return this.insert(em, {
      topic: 'metric',
      type: event.type,
      serviceId: null,
      url: null,
      data: event.data,
    });
  }

  private async insert(em: EntityManager, event: Omit<NewOutboxRow, 'id'>) {
    const id = randomUUID();
    await em.query(outboxInsertSql(1), outboxRowValues({ id, ...event }));
    return id;
  }
}
