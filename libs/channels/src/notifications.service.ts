import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import { DomainError } from '#libs/errors';
import { Notification } from './notification.entity.js';

export interface NotificationPage {
  notifications: Notification[];
  /** Pass as `before` for the next page; null on the last one. */
  nextBefore: string | null;
}

/** The portal channel as the citizen reads it: their notifications, newest first, and marking one read. */
@Injectable()
export class NotificationsService {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first; `before` is the previous page's nextBefore (the id of its last notification). */
  async page(citizenId: string, limit: number, before?: string): Promise<NotificationPage> {
    const ids: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM notification n WHERE citizen_id = $1
         AND ($3::uuid IS NULL OR (created_at, id) <
              (SELECT created_at, id FROM notification WHERE citizen_id = $1 AND id = $3))
       ORDER BY created_at DESC, id DESC LIMIT $2`,
      [citizenId, limit + 1, before ?? null],
    );
    const pageIds = ids.slice(0, limit).map((row) => row.id);
    const rows = pageIds.length
      ? await this.dataSource.manager.find(Notification, { where: { citizenId, id: In(pageIds) } })
      : [];
    const notifications = pageIds.map((id) => rows.find((row) => row.id === id)!);
    return { notifications, nextBefore: ids.length > limit ? pageIds[pageIds.length - 1] : null };
  }

  /** Marks it read (the first time only); another citizen's notification is as unknown as a made-up one. */
  async markRead(citizenId: string, id: string, at: Date): Promise<Notification> {
    await this.dataSource.query(
      `UPDATE notification SET read_at = coalesce(read_at, $3) WHERE citizen_id = $1 AND id = $2`,
      [citizenId, id, at],
    );
    const found = await this.dataSource.manager.findOneBy(Notification, { citizenId, id });
    if (!found) throw new DomainError('notification_not_found', 'No such notification.');
    return found;
  }

  /** Every notification of the citizen, oldest first (the citizen's export). */
  all(em: EntityManager, citizenId: string): Promise<Notification[]> {
    return em.find(Notification, { where: { citizenId }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Erasure. */
  async deleteAll(em: EntityManager, citizenId: string): Promise<void> {
    await em.delete(Notification, { citizenId });
  }
}
