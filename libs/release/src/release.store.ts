import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  type AccessBasis,
  type AccessOutcome,
  appendLinkCtes,
  CHAIN_LOCK_HELD,
  chainEntry,
  chainEntryValues,
  type ChainHead,
  chainHeadJsonSql,
  isChainPositionTaken,
  lockChain,
  type WithheldReason,
} from '#libs/access-log';
import { activeConsentsJsonSql, useUpConsentsSql } from '#libs/consent';
import { citizenOfPpidSql } from '#libs/identity';
import { montrealDay } from '#libs/config';
import { onceEventId, outboxInsertSql, outboxRowValues } from '#libs/outbox';
import { dataKeyJsonSql, heldValuesJsonSql, sourceOf } from '#libs/vault';

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
  at: Date;
  attributes: string[];
  outcome: AccessOutcome;
  released: string[];
  withheld: { attribute: string; reason: WithheldReason }[];
  basis: AccessBasis[];
  onceConsentsUsed: string[];
}

/** YYYY-MM-DD in Québec's time zone (a formatter is costly to build: once per process). */

/**
 * Another request for the same citizen is appending, or got there first
 * (chain position, one-time consent): the caller redoes the release holding
 * the chain's lock.
 */
export class ReleaseConflict extends Error {
  /** Whose chain, once known: the lock to wait for on the next attempt. */
  citizenId: string | null = null;
}

const READ = `WITH p AS (${citizenOfPpidSql('$1', '$2')})
  SELECT p.citizen_id,
         ${dataKeyJsonSql('p.citizen_id')} AS key,
         ${activeConsentsJsonSql('p.citizen_id', '$3', '$4')} AS consents,
         ${heldValuesJsonSql('p.citizen_id', '$5')} AS held,
         ${chainHeadJsonSql('p.citizen_id')} AS head
    FROM p`;

// The log's append, which tries the chain's lock within the statement: when another request holds it, nothing is written.
const WRITE = `WITH ${appendLinkCtes('$1', 3)},
  used AS (${useUpConsentsSql('$1', '$2', CHAIN_LOCK_HELD)}),
  activity AS (${outboxInsertSql(17, CHAIN_LOCK_HELD)})
  SELECT ${CHAIN_LOCK_HELD} AS locked, (SELECT count(*) FROM used) AS used`;

/**
 * The data-request hot path in two statements on the caller's connection:
 * one read of everything rule 1 and the release need, one write of the log
 * entry, the used-up one-time consents and the service's activity event for
 * the day (written by the first request of the day, a no-op after). The write
 * is a single statement, so it is atomic even outside a transaction; nothing
 * is released unless it commits. Both compose the fragments that the owning
 * libs export (identity, vault, consent, access-log, outbox), and both are
 * named statements, parsed and planned once per connection, so a request
 * costs about what a bare read-and-insert costs (docs/benchmarks.md).
 *
 * Appends to one citizen's chain are serialised by the chain's advisory lock
 * (appendLinkCtes, the access log's one append): the write tries it and writes nothing when another request
 * holds it; an append that lost the race also fails on the (citizen, seq)
 * key. Either is a ReleaseConflict, and the caller redoes the release in a
 * transaction that waits for the lock first (see ReleaseService).
 */
@Injectable()
export class ReleaseStore {
  /** A named statement on the caller's own connection. */
  private async prepared<T>(em: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
    const client = (await em.queryRunner!.connect()) as { query(config: object): Promise<{ rows: T[] }> };
    return (await client.query({ name, text, values })).rows;
  }

  /** Waits for the citizen's chain lock, held until the caller's transaction ends. */
  async lockChain(em: EntityManager, citizenId: string): Promise<void> {
    await lockChain(em, citizenId);
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
    }[] = await this.prepared(em, 'release-read', READ, [
      organisationId,
      ppid,
      serviceId,
      purpose,
      candidates,
    ]);
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
    const entry = chainEntry(
      head,
      {
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
      },
      record.at,
    );
    // Ambition 2 counts the services active in a period: one event per service and day.
    const day = montrealDay(entry.at);
    let result: { locked: boolean; used: string };
    try {
      [result] = await this.prepared<{ locked: boolean; used: string }>(em, 'release-write', WRITE, [
        record.citizenId,
        record.onceConsentsUsed,
        ...chainEntryValues(entry),
        ...outboxRowValues({
          id: onceEventId('service.active', record.serviceId, day),
          topic: 'metric',
          type: 'service.active',
          serviceId: null,
          url: null,
          data: { service: record.serviceId, organisation: record.organisationId, day },
        }),
      ]);
    } catch (error) {
      if (isChainPositionTaken(error)) throw new ReleaseConflict('the access-log chain moved meanwhile');
      throw error;
    }
    if (!result.locked) throw new ReleaseConflict('another request is appending to the chain');
    if (Number(result.used) !== record.onceConsentsUsed.length)
      throw new ReleaseConflict('a one-time consent was used or revoked meanwhile');
  }
}
