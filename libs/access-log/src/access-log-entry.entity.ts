import { Column, Entity, PrimaryColumn } from 'typeorm';

export type AccessOutcome = 'released' | 'partial' | 'withheld';
export type WithheldReason = 'not_held' | 'consent_required' | 'not_authorized';

/** Why an attribute could be released: a consent of the citizen, or a legal basis of the registry. */
export type AccessBasis =
  | { attribute: string; kind: 'consent'; consentId: string }
  | { attribute: string; kind: 'legal_basis'; legalBasisId: string; reference: string };

/** One access by a service: appended, never changed (rule 4). */
@Entity('access_log_entry')
export class AccessLogEntry {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  seq: number;
  @Column('timestamptz') at: Date;
  @Column('text', { name: 'service_id' }) serviceId: string;
  @Column('text', { name: 'organisation_id' }) organisationId: string;
  @Column('text') purpose: string;
  @Column('text', { name: 'request_id', nullable: true }) requestId: string | null;
  @Column('text', { array: true }) attributes: string[];
  @Column('text') outcome: AccessOutcome;
  @Column('text', { array: true }) released: string[];
  @Column('jsonb') withheld: { attribute: string; reason: WithheldReason }[];
  @Column('jsonb') basis: AccessBasis[];
  @Column('text', { name: 'prev_hash' }) prevHash: string;
  @Column('text') hash: string;
}
