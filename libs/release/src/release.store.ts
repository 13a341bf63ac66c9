import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  type AccessBasis,
  type AccessOutcome,
  appendLinkCtes,
  appendLinksCtes,
  CHAIN_LOCK_HELD,
  chainBatch,
  chainEntriesJson,
  chainEntry,
  chainEntryValues,
  type ChainHead,
  chainHeadJsonSql,
  isChainPositionTaken,
  linkWrittenSql,
  lockChain,
  type PendingAppend,
  type WithheldReason,
} from '#libs/access-log';
import { activeConsentsJsonSql, useUpConsentsSql } from '#libs/consent';
import { citizenOfPpidSql } from '#libs/identity';
import { AppConfig, montrealDay } from '#libs/config';
import { Batcher, preparedQuery } from '#libs/database';
import {
  type NewOutboxRow,
  onceEventId,
  OUTBOX_ROWS_JSON_COLUMNS,
  outboxInsertFromSql,
  outboxInsertSql,
  outboxRowsJson,
  outboxRowValues,
} from '#libs/outbox';
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

/**
 * Another request for the same citizen is appending, or got there first
 * (chain position, one-time consent): the caller redoes the release holding
 * the chain's lock.
 */
export class ReleaseConflict extends Error {
  /** Whose chain, once known: the lock to wait for on the next attempt. */
  citizenId: string | null = null;
}

/** What a release reads of the citizen `p.citizen_id` for this service, purpose and attribute codes: a ReadRow. */
function snapshotColumnsSql(service: string, purpose: string, codes: string): string {
  return `p.citizen_id,
         ${dataKeyJsonSql('p.citizen_id')} AS key,
         ${activeConsentsJsonSql('p.citizen_id', service, purpose)} AS consents,
         ${heldValuesJsonSql('p.citizen_id', codes)} AS held,
         ${chainHeadJsonSql('p.citizen_id')} AS head`;
}

const READ = `WITH p AS (${citizenOfPpidSql('$1', '$2')})
  SELECT ${snapshotColumnsSql('$3', '$4', '$5')}
    FROM p`;

// The same for many requests at once (outside a transaction), each row with `n`, its request's place.
// `p` is materialized: inlined, each of the snapshot's columns would look the pairwise id up again.
const READ_MANY = `WITH r AS (SELECT * FROM jsonb_to_recordset($1::jsonb)
                   AS r(n int, organisation text, ppid text, service text, purpose text, codes text[])),
  p AS MATERIALIZED (SELECT r.n, r.service, r.purpose, r.codes, (${citizenOfPpidSql('r.organisation', 'r.ppid')}) AS citizen_id
          FROM r)
  SELECT p.n, ${snapshotColumnsSql('p.service', 'p.purpose', 'p.codes')}
    FROM p WHERE p.citizen_id IS NOT NULL`;

/** A row of READ (READ_MANY's has `n` too): what ReleaseStore.read answers, as PostgreSQL builds it. */
interface ReadRow {
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
}

interface ReadAsk {
  organisation: string;
  ppid: string;
  service: string;
  purpose: string;
  codes: string[];
}

// The log's append, which tries the chain's lock within the statement: when another request holds it, nothing is written.
const WRITE = `WITH ${appendLinkCtes('$1', 3)},
  used AS (${useUpConsentsSql('$1', '$2', CHAIN_LOCK_HELD)}),
  activity AS (${outboxInsertSql(17, CHAIN_LOCK_HELD)})
  SELECT ${CHAIN_LOCK_HELD} AS locked, (SELECT count(*) FROM used) AS used`;

// The same for many releases at once (group commit), none using up a one-time consent: each link
// written or not on its own, each activity event written with its link.
const WRITE_MANY = `WITH ${appendLinksCtes('$1')},
  activity_in AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS a(${OUTBOX_ROWS_JSON_COLUMNS})),
  activity AS (${outboxInsertFromSql(
    'activity_in a',
    `EXISTS (SELECT 1 FROM links_in l WHERE l.n = a.n AND ${linkWrittenSql('l')})`,
  )})
  SELECT l.n, c.held AS locked, ${linkWrittenSql('l')} AS written
    FROM links_in l JOIN chain_locks c USING (n)`;

/** The most appends one group commit writes; more wait for the next. */
const GROUP_COMMIT_MAX = 64;

/**
 * The group commit an append was part of failed as a whole (the database
 * refused or lost its statement): nothing of it was written, and every
 * request in it fails closed.
 */
export class AppendBatchFailed extends Error {
  constructor(size: number, cause: unknown) {
    super(`the group commit of ${size} access-log appends failed; none was written`, { cause });
  }
}

interface Append extends PendingAppend {
  activity: NewOutboxRow;
}

/**
 * The data-request hot path in two statements: one read of everything rule
 * 1 and the release need, one write of the log entry, the used-up one-time
 * consents and the service's activity event for the day (written by the
 * first request of the day, a no-op after). The write is a single statement,
 * so it is atomic even outside a transaction; nothing is released unless it
 * commits. Outside a transaction, the writes of concurrent requests are one
 * statement (`append`, a group commit): one round trip and one commit for
 * many requests. The statements compose the fragments that the owning libs
 * export (identity, vault, consent, access-log, outbox), and are named,
 * parsed and planned once per connection (docs/benchmarks.md).
 *
 * Appends to one citizen's chain are serialised by the chain's advisory lock
 * (appendLinkCtes and appendLinksCtes, the access log's appends): the write
 * tries it and writes nothing when another transaction holds it; an append
 * that lost the race finds its place in the chain taken. Either is a
 * ReleaseConflict, and the caller redoes the release in a transaction that
 * waits for the lock first (see ReleaseService).
 */
@Injectable()
export class ReleaseStore {
  private readonly appends: Batcher<Append, { locked: boolean; written: boolean }>;
  private readonly reads = new Batcher((asks: ReadAsk[]) => this.readMany(asks), {
    maxSize: GROUP_COMMIT_MAX,
  });

  constructor(
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.appends = new Batcher((batch) => this.writeMany(batch), {
      windowMs: config.accessLogGroupCommitMs,
      maxSize: GROUP_COMMIT_MAX,
    });
  }

  /** Waits for the citizen's chain lock, held until the caller's transaction ends. */
  async lockChain(em: EntityManager, citizenId: string): Promise<void> {
    await lockChain(em, citizenId);
  }

  /**
   * In the caller's transaction (`em`), or, given none, with the reads of
   * the other requests that arrive in the same turn of the event loop as one
   * statement on one pooled connection (Batcher).
   */
  async read(
    em: EntityManager | null,
    organisationId: string,
    ppid: string,
    serviceId: string,
    purpose: string,
    candidates: string[],
  ): Promise<ReleaseSnapshot | null> {
    const row = em
      ? (
          await preparedQuery<ReadRow>(em, 'release-read', READ, [
            organisationId,
            ppid,
            serviceId,
            purpose,
            candidates,
          ])
        )[0]
      : await this.reads.submit({
          organisation: organisationId,
          ppid,
          service: serviceId,
          purpose,
          codes: candidates,
        });
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

  /** READ_MANY: each ask's row, or undefined for a pairwise id its organisation does not know. */
  private async readMany(asks: ReadAsk[]): Promise<(ReadRow | undefined)[]> {
    const rows = await preparedQuery<ReadRow & { n: number }>(
      this.dataSource,
      'release-read-many',
      READ_MANY,
      [JSON.stringify(asks.map((ask, n) => ({ n, ...ask })))],
    );
    const results = new Array<ReadRow | undefined>(asks.length);
    for (const row of rows) results[row.n] = row;
    return results;
  }

  /** The release's log entry and activity event, with its one-time consents used up, in the caller's transaction. */
  async write(em: EntityManager, head: ReleaseSnapshot['head'], record: ReleaseRecord): Promise<void> {
    const { activity, ...append } = appendOf(head, record);
    const entry = chainEntry(append.head, append.input, append.at);
    let result: { locked: boolean; used: string };
    try {
      [result] = await preparedQuery<{ locked: boolean; used: string }>(em, 'release-write', WRITE, [
        record.citizenId,
        record.onceConsentsUsed,
        ...chainEntryValues(entry),
        ...outboxRowValues(activity),
      ]);
    } catch (error) {
      if (isChainPositionTaken(error)) throw new ReleaseConflict('the access-log chain moved meanwhile');
      throw error;
    }
    if (!result.locked) throw new ReleaseConflict('another request is appending to the chain');
    if (Number(result.used) !== record.onceConsentsUsed.length)
      throw new ReleaseConflict('a one-time consent was used or revoked meanwhile');
  }

  /**
   * The same, for a release that uses up no one-time consent and runs in no
   * transaction, gathered with the other requests' appends of the next
   * ACCESS_LOG_GROUP_COMMIT_MILLISECONDS into one statement on one pooled
   * connection (group commit); appends of one citizen in the batch are
   * chained in the order they came (chainBatch). It answers once that
   * statement has committed: with its own link written, or a
   * ReleaseConflict when its chain moved or was held by another writer
   * (appends of other citizens in the batch are not affected); when the
   * statement fails, every append of the batch fails with AppendBatchFailed
   * and none was written.
   */
  async append(head: ReleaseSnapshot['head'], record: ReleaseRecord): Promise<void> {
    if (record.onceConsentsUsed.length > 0) throw new Error('a one-time consent is used up in a transaction');
    const { locked, written } = await this.appends.submit(appendOf(head, record));
    if (!locked) throw new ReleaseConflict('another request is appending to the chain');
    if (!written) throw new ReleaseConflict('the access-log chain moved meanwhile');
  }

  private async writeMany(batch: Append[]): Promise<{ locked: boolean; written: boolean }[]> {
    let rows: { n: number; locked: boolean; written: boolean }[];
    try {
      rows = await preparedQuery(this.dataSource, 'release-write-many', WRITE_MANY, [
        chainEntriesJson(chainBatch(batch)),
        outboxRowsJson(batch.map((append) => append.activity)),
      ]);
    } catch (error) {
      throw new AppendBatchFailed(batch.length, error);
    }
    const results = new Array<{ locked: boolean; written: boolean }>(batch.length);
    for (const { n, locked, written } of rows) results[n] = { locked, written };
    return results;
  }
}

/** A release's append to its citizen's chain after `head`, and its service's activity event of the day. */
function appendOf(head: ReleaseSnapshot['head'], record: ReleaseRecord): Append {
  // Ambition 2 counts the services active in a period: one event per service and day.
  const day = montrealDay(record.at);
  return {
    head,
    input: {
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
    at: record.at,
    activity: {
      id: onceEventId('service.active', record.serviceId, day),
      topic: 'metric',
      type: 'service.active',
      serviceId: null,
      url: null,
      data: { service: record.serviceId, organisation: record.organisationId, day },
    },
  };
}
