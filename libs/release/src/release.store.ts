import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  type AccessBasis,
  type AccessOutcome,
  chainEntry,
  type ChainHead,
  type WithheldReason,
} from '#libs/access-log';
import { onceEventId } from '#libs/outbox';
import { sourceOf } from '#libs/vault';

export interface ReleaseSnapshot {
  citizenId: string;
  key: { masterKeyId: string; masterKeyVersion: number; wrappedKey: Buffer } | null;
  consents: { id: string; attributes: string[]; mode: 'once' | 'ongoing' }[];
  held: { attribute: string; ciphertext: Buffer; source: string; updatedAt: string }[];
  head: ChainHead;
}

export interface ReleaseRecord {
  citizenId: string;
  serviceId: string;
  organisationId: string;
  purpose: string;
  requestId: string;
  attributes: string[];
  outcome: AccessOutcome;
  released: string[];
  withheld: { attribute: string; reason: WithheldReason }[];
  basis: AccessBasis[];
  onceConsentsUsed: string[];
}

/** YYYY-MM-DD in Québec's time zone (a formatter is costly to build: once per process). */
const MONTREAL_DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Montreal' });

/** Another request for the same citizen got there first (chain position or one-time consent): start again. */
export class ReleaseConflict extends Error {}

/**
 * The data-request hot path in two statements on the caller's connection:
 * one read of everything rule 1 and the release need, one write of the log
 * entry, the used-up one-time consents and the service's activity event for
 * the day (written by the first request of the day, a no-op after). The write
 * is a single statement, so it is atomic even outside a transaction; nothing
 * is released unless it commits.
 *
 * It is the broker's own read and write model over tables the vault,
 * consent, access-log and outbox libs own, kept here so that a request costs
 * about what a bare read-and-insert costs (docs/benchmarks.md). Both are named
 * statements, parsed and planned once per connection. The chain needs no
 * lock: the (citizen, seq) key makes a concurrent append fail, and the caller
 * starts again from the read.
 */
@Injectable()
export class ReleaseStore {
  /** A named statement on the transaction's own connection. */
  private async prepared<T>(em: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
    const client = (await em.queryRunner!.connect()) as { query(config: object): Promise<{ rows: T[] }> };
    return (await client.query({ name, text, values })).rows;
  }

  async read(
    em: EntityManager,
    organisationId: string,
    ppid: string,
    serviceId: string,
    purpose: string,
    candidates: string[],
  ): Promise<ReleaseSnapshot | null> {
    const [row]: {
      citizen_id: string;
      key: { id: string; version: number; wrapped: string } | null;
      consents: ReleaseSnapshot['consents'];
      held: {
        attribute: string;
        ciphertext: string;
        kind: string;
        organisation: string | null;
        updated_at: string;
      }[];
      head: { seq: number; hash: string } | null;
    }[] = await this.prepared(
      em,
      'release-read',
      `WITH p AS (SELECT citizen_id FROM pairwise_id WHERE organisation_id = $1 AND ppid = $2)
       SELECT p.citizen_id,
         (SELECT json_build_object('id', k.master_key_id, 'version', k.master_key_version, 'wrapped', encode(k.wrapped_key, 'base64'))
            FROM citizen_key k WHERE k.citizen_id = p.citizen_id) AS key,
         (SELECT coalesce(json_agg(json_build_object('id', c.id, 'attributes', c.attributes, 'mode', c.mode) ORDER BY c.granted_at), '[]')
            FROM consent c
           WHERE c.citizen_id = p.citizen_id AND c.service_id = $3 AND c.purpose = $4 AND c.status = 'active'
             AND (c.expires_at IS NULL OR c.expires_at > now())) AS consents,
         (SELECT coalesce(json_agg(json_build_object('attribute', v.attribute, 'ciphertext', encode(v.ciphertext, 'base64'),
                   'kind', v.source_kind, 'organisation', v.source_organisation_id, 'updated_at', v.updated_at)), '[]')
            FROM attribute_value v WHERE v.citizen_id = p.citizen_id AND v.attribute = ANY ($5)) AS held,
         (SELECT json_build_object('seq', e.seq, 'hash', e.hash)
            FROM access_log_entry e WHERE e.citizen_id = p.citizen_id ORDER BY e.seq DESC LIMIT 1) AS head
       FROM p`,
      [organisationId, ppid, serviceId, purpose, candidates],
    );
    if (!row) return null;
    return {
      citizenId: row.citizen_id,
      key: row.key
        ? {
            masterKeyId: row.key.id,
            masterKeyVersion: row.key.version,
            wrappedKey: Buffer.from(row.key.wrapped, 'base64'),
          }
        : null,
      consents: row.consents,
      held: row.held.map((v) => ({
        attribute: v.attribute,
        ciphertext: Buffer.from(v.ciphertext, 'base64'),
        source: sourceOf(v.kind, v.organisation),
        updatedAt: new Date(v.updated_at).toISOString(),
      })),
      head: row.head ? { seq: Number(row.head.seq), hash: row.head.hash } : null,
    };
  }

  async write(em: EntityManager, head: ReleaseSnapshot['head'], record: ReleaseRecord): Promise<void> {
    const entry = chainEntry(head, {
      citizenId: record.citizenId,
      serviceId: record.serviceId,
      organisationId: record.organisationId,
      purpose: record.purpose,
      requestId: record.requestId,
      attributes: record.attributes,
      outcome: record.outcome,
      released: record.released,
      withheld: record.withheld,
      basis: record.basis,
    });
    // Ambition 2 counts the services active in a period: one event per service and day.
    const day = MONTREAL_DAY.format(entry.at);
    try {
      const [result] = await this.prepared<{ used: string }>(
        em,
        'release-write',
        `WITH used AS (
           UPDATE consent SET status = 'used', used_at = now()
            WHERE citizen_id = $1 AND id = ANY ($2::uuid[]) AND status = 'active' RETURNING id),
         entry AS (
           INSERT INTO access_log_entry (citizen_id, seq, at, service_id, organisation_id, purpose, request_id, attributes,
                                         outcome, released, withheld, basis, prev_hash, hash)
           VALUES ($1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)),
         activity AS (
           INSERT INTO outbox_event (id, topic, type, data) VALUES ($16, 'metric', 'service.active', $17)
           ON CONFLICT (id) DO NOTHING)
         SELECT count(*) AS used FROM used`,
        [
          record.citizenId,
          record.onceConsentsUsed,
          entry.seq,
          entry.at,
          entry.serviceId,
          entry.organisationId,
          entry.purpose,
          entry.requestId,
          entry.attributes,
          entry.outcome,
          entry.released,
          JSON.stringify(entry.withheld),
          JSON.stringify(entry.basis),
          entry.prevHash,
          entry.hash,
          onceEventId('service.active', record.serviceId, day),
          JSON.stringify({ service: record.serviceId, organisation: record.organisationId, day }),
        ],
      );
      if (Number(result.used) !== record.onceConsentsUsed.length)
        throw new ReleaseConflict('a one-time consent was used meanwhile');
    } catch (error) {
      const constraint = (error as { constraint?: string }).constraint;
      if (constraint === 'access_log_entry_pk')
        throw new ReleaseConflict('the access-log chain moved meanwhile');
      throw error;
    }
  }
}
