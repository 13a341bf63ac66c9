import { Column, Entity, PrimaryColumn } from 'typeorm';

export type OutboxTopic = 'webhook' | 'metric';

/**
 * An event to deliver, written in the same transaction as the change it
 * reports (rule 6, 7). Its id is stable across retries; receivers dedupe on it.
 * `data` never holds a personal value: pairwise ids, codes and dates only.
 */
@Entity('outbox_event')
export class OutboxEvent {
  @PrimaryColumn('uuid') id: string;
  @Column('text') topic: OutboxTopic;
  @Column('text') type: string;
  @Column('timestamptz', { name: 'occurred_at' }) occurredAt: Date;
  @Column('text', { name: 'service_id', nullable: true }) serviceId: string | null;
  @Column('text', { nullable: true }) url: string | null;
  @Column('jsonb') data: Record<string, unknown>;
  @Column('text') status: 'pending' | 'delivered';
  @Column('integer') attempts: number;
  @Column('timestamptz', { name: 'next_attempt_at' }) nextAttemptAt: Date;
  /** Until when a claimed attempt is in flight; past it, the event is claimed again. */
  @Column('timestamptz', { name: 'leased_until', nullable: true }) leasedUntil: Date | null;
  @Column('timestamptz', { name: 'delivered_at', nullable: true }) deliveredAt: Date | null;
  @Column('text', { name: 'last_error', nullable: true }) lastError: string | null;
}
