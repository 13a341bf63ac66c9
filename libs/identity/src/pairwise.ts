import { createHmac } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Column, Entity, type EntityManager, PrimaryColumn } from 'typeorm';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';

/** The shape of an identifier this class issues (base64url of a SHA-256 HMAC). */
const PPID = /^[A-Za-z0-9_-]{16,64}$/;

/** A pairwise identifier handed to an organisation, so its services can name the citizen later. */
@Entity('pairwise_id')
export class PairwiseId {
  @PrimaryColumn('uuid', { name: 'citizen_id' }) citizenId: string;
  @PrimaryColumn('text', { name: 'organisation_id' }) organisationId: string;
  @Column('text') ppid: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt: Date;
}

export interface IssuedPairwiseId {
  organisation: string;
  ppid: string;
  createdAt: string;
}

/** The citizen id behind an organisation's pairwise id (no row for another organisation's id). */
export function citizenOfPpidSql(organisation: string, ppid: string): string {
  return `SELECT citizen_id FROM pairwise_id WHERE organisation_id = ${organisation} AND ppid = ${ppid}`;
}

/**
 * Rule 2: each organisation sees its own stable pseudonym of a citizen,
 * HMAC-SHA-256(secret, organisation ‖ citizen), so two organisations cannot
 * link their files by identifier. An identifier exists for an organisation
 * only once the citizen has dealt with it (approved or granted a consent).
 */
@Injectable()
export class PairwiseIds {
  constructor(private readonly config: AppConfig) {}

  of(organisationId: string, citizenId: string): string {
    return createHmac('sha256', this.config.pairwiseSecret)
      .update(`${organisationId}\u001f${citizenId}`)
      .digest('base64url');
  }

  /** The organisation's identifier of the citizen, recorded so the organisation can present it later. */
  async issue(em: EntityManager, organisationId: string, citizenId: string): Promise<string> {
    const ppid = this.of(organisationId, citizenId);
    await em.query(
      `INSERT INTO pairwise_id (citizen_id, organisation_id, ppid) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [citizenId, organisationId, ppid],
    );
    return ppid;
  }

  /** The citizen behind an organisation's identifier; null for another organisation's identifier or a made-up one. */
  async resolve(em: EntityManager, organisationId: string, ppid: string): Promise<string | null> {
    if (typeof ppid !== 'string' || !PPID.test(ppid)) return null;
    const [row]: { citizen_id: string }[] = await em.query(citizenOfPpidSql('$1', '$2'), [
      organisationId,
      ppid,
    ]);
    return row?.citizen_id ?? null;
  }

  /** Every organisation that holds an identifier of the citizen (the citizen's export). */
  async list(em: EntityManager, citizenId: string): Promise<IssuedPairwiseId[]> {
    const rows: { organisation_id: string; ppid: string; created_at: Date }[] = await em.query(
      `SELECT organisation_id, ppid, created_at FROM pairwise_id WHERE citizen_id = $1 ORDER BY organisation_id`,
      [citizenId],
    );
    return rows.map((row) => ({
      organisation: row.organisation_id,
      ppid: row.ppid,
      createdAt: row.created_at.toISOString(),
    }));
  }

  /** Erasure: every organisation's identifier of the citizen stops resolving (a service presenting one finds no one). */
  async forget(em: EntityManager, citizenId: string): Promise<void> {
    await em.query(`DELETE FROM pairwise_id WHERE citizen_id = $1`, [citizenId]);
  }

  /** Like resolve, for a service naming a citizen: an unknown identifier is a 404. */
  async require(em: EntityManager, organisationId: string, ppid: string): Promise<string> {
    const citizenId = await this.resolve(em, organisationId, ppid);
    if (!citizenId) throw new DomainError('citizen_not_found', 'Unknown pairwise id for your organisation.');
    return citizenId;
  }
}
