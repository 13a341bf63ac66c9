import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A reminder as the citizen reads it in the portal; its id is the reminder's. */
@Entity('notification')
export class Notification {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('uuid') id: string;
  @Column('uuid', { name: 'deadline_id', nullable: true }) deadlineId: string | null;
  @Column('text') language: 'fr' | 'en';
  @Column('text') subject: string;
  @Column('text') body: string;
  @Column('text', { name: 'action_url', nullable: true }) actionUrl: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'read_at', nullable: true }) readAt: Date | null;
}
