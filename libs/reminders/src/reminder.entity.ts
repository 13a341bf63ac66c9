import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ChannelName } from '#libs/channels';

export const REMINDER_STATUSES = [
  'scheduled',
  'queued',
  'sent',
  'delivered',
  'failed',
  'cancelled',
  'suppressed',
  'skipped',
] as const;
export type ReminderStatus = (typeof REMINDER_STATUSES)[number];

export type DeliveryStatus = 'sent' | 'delivered' | 'failed' | 'suppressed';

/** One reminder of a deadline: `offsetDays` before it, sent at `sendAt` (out of quiet hours). */
@Entity('reminder')
export class Reminder {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'deadline_id' }) deadlineId: string;
  @Column('integer', { name: 'offset_days' }) offsetDays: number;
  @Column('timestamptz', { name: 'planned_at' }) plannedAt: Date;
  @Column('timestamptz', { name: 'send_at' }) sendAt: Date;
  @Column('text') status: ReminderStatus;
  @Column('text', { nullable: true }) reason: string | null;
  @Column('timestamptz', { name: 'lease_until', nullable: true }) leaseUntil: Date | null;
  @Column('integer') attempts: number;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'queued_at', nullable: true }) queuedAt: Date | null;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt: Date | null;
  @Column('timestamptz', { name: 'delivered_at', nullable: true }) deliveredAt: Date | null;
  @Column('timestamptz', { name: 'failed_at', nullable: true }) failedAt: Date | null;
  @Column('timestamptz', { name: 'cancelled_at', nullable: true }) cancelledAt: Date | null;
}

/** What one channel did with one reminder; a channel with a row is never tried again. */
@Entity('reminder_delivery')
export class ReminderDelivery {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('uuid', { name: 'reminder_id' }) reminderId: string;
  @PrimaryColumn('text') channel: ChannelName;
  @Column('text') status: DeliveryStatus;
  @Column('text', { nullable: true }) reason: string | null;
  @Column('text', { name: 'provider_ref', nullable: true }) providerRef: string | null;
  @Column('timestamptz') at: Date;
}
