import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export interface Channels {
  email: boolean;
  sms: boolean;
  portal: boolean;
}

export interface QuietHours {
  start: string;
  end: string;
}

/** The quiet hours of a citizen who never set theirs (the column's default). */
export const DEFAULT_QUIET_HOURS: Readonly<QuietHours> = { start: '21:00', end: '08:00' };

@Entity('citizen')
export class Citizen {
  @PrimaryColumn('uuid') id: string;
  @Column('text') issuer: string;
  /** The issuer's `sub`; cleared on erasure so the same person starts afresh. */
  @Column('text', { nullable: true }) subject: string | null;
  @Column('text') language: 'fr' | 'en';
  @Column('jsonb') channels: Channels;
  @Column('jsonb', { name: 'quiet_hours' }) quietHours: QuietHours;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column('timestamptz', { name: 'erased_at', nullable: true }) erasedAt: Date | null;
}
