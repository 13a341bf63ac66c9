import { Column, Entity, PrimaryColumn } from 'typeorm';
import { isActiveConsent } from './active-consent.js';

export type ConsentMode = 'once' | 'ongoing';
export type StoredConsentStatus = 'active' | 'revoked' | 'used';
/** What the citizen and services see: an active consent past its expiry reads as expired. */
export type ConsentStatus = StoredConsentStatus | 'expired';

@Entity('consent')
export class Consent {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('uuid') id: string;
  @Column('text', { name: 'service_id' }) serviceId: string;
  @Column('text', { name: 'organisation_id' }) organisationId: string;
  @Column('text') purpose: string;
  @Column('text', { array: true }) attributes: string[];
  @Column('text') mode: ConsentMode;
  @Column('text') status: StoredConsentStatus;
  @Column('timestamptz', { name: 'granted_at' }) grantedAt: Date;
  @Column('timestamptz', { name: 'expires_at', nullable: true }) expiresAt: Date | null;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt: Date | null;
  @Column('timestamptz', { name: 'used_at', nullable: true }) usedAt: Date | null;
  @Column('uuid', { name: 'consent_request_id', nullable: true }) consentRequestId: string | null;
  /** The registry version under which the consent was given, for audit. */
  @Column('integer', { name: 'registry_version' }) registryVersion: number;
}

export function consentStatus(consent: Consent, now = new Date()): ConsentStatus {
  if (consent.status === 'active' && !isActiveConsent(consent, now)) return 'expired';
  return consent.status;
}
