import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ConsentMode } from './consent.entity.js';

export type StoredRequestStatus = 'pending' | 'approved' | 'denied';
export type ConsentRequestStatus = StoredRequestStatus | 'expired';

/**
 * A service's request for consent. It exists before any citizen is known
 * (the citizen follows the approval link), so it is keyed by its own id;
 * `citizenId` is set when addressed to a citizen or once one answers.
 */
@Entity('consent_request')
export class ConsentRequest {
  @PrimaryColumn('uuid') id: string;
  @Column('text', { name: 'service_id' }) serviceId: string;
  @Column('text', { name: 'organisation_id' }) organisationId: string;
  @Column('text') purpose: string;
  @Column('text', { array: true }) attributes: string[];
  @Column('text') mode: ConsentMode;
  @Column('timestamptz', { name: 'consent_expires_at', nullable: true }) consentExpiresAt: Date | null;
  @Column('text', { name: 'callback_url', nullable: true }) callbackUrl: string | null;
  @Column('text') status: StoredRequestStatus;
  @Column('uuid', { name: 'citizen_id', nullable: true }) citizenId: string | null;
  @Column('uuid', { name: 'consent_id', nullable: true }) consentId: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt: Date;
  @Column('timestamptz', { name: 'decided_at', nullable: true }) decidedAt: Date | null;
}

export function requestStatus(request: ConsentRequest, now = new Date()): ConsentRequestStatus {
  if (request.status === 'pending' && request.expiresAt <= now) return 'expired';
  return request.status;
}
