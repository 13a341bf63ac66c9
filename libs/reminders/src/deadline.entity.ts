import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Label } from '#libs/catalogue';

export type DeadlineStatus = 'open' | 'completed' | 'cancelled';

/** Something the citizen must do by `dueAt`: registered by a service, or derived from an expiring attribute. */
@Entity('deadline')
export class Deadline {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('uuid') id: string;
  @Column('text') kind: string;
  @Column('text', { name: 'organisation_id' }) organisationId: string;
  /** The service that registered it; null for a deadline derived from an expiring attribute. */
  @Column('text', { name: 'service_id', nullable: true }) serviceId: string | null;
  /** The expiring attribute it comes from; null for a service's deadline. */
  @Column('text', { name: 'source_attribute', nullable: true }) sourceAttribute: string | null;
  @Column('text', { name: 'external_ref', nullable: true }) externalRef: string | null;
  @Column('jsonb') title: Label;
  @Column('text', { name: 'action_url', nullable: true }) actionUrl: string | null;
  @Column('timestamptz', { name: 'due_at' }) dueAt: Date;
  @Column('text') status: DeadlineStatus;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
  @Column('timestamptz', { name: 'closed_at', nullable: true }) closedAt: Date | null;
}
