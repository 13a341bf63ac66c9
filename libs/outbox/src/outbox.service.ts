import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { OutboxEvent } from './outbox-event.entity.js';

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

/** Writes events in the caller's transaction; the scheduler delivers them. */
@Injectable()
export class OutboxService {
  async webhook(em: EntityManager, event: NewWebhookEvent): Promise<string> {
    return this.insert(em, { topic: 'webhook', type: event.type, serviceId: event.serviceId, url: event.url, data: event.data });
  }

  async metric(em: EntityManager, event: NewMetricEvent): Promise<string> {
    return this.insert(em, { topic: 'metric', type: event.type, serviceId: null, url: null, data: event.data });
  }

  private async insert(em: EntityManager, event: Pick<OutboxEvent, 'topic' | 'type' | 'serviceId' | 'url' | 'data'>) {
    const id = randomUUID();
    await em.query(
      `INSERT INTO outbox_event (id, topic, type, service_id, url, data) VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, event.topic, event.type, event.serviceId, event.url, JSON.stringify(event.data)],
    );
    return id;
  }
}
