import type { EntityManager } from 'typeorm';
import type { AccessLogEntry } from './access-log-entry.entity.js';

/**
 * Namespace of the per-citizen chain locks: the top byte of their one-bigint
 * key. The project's other advisory locks are constants below 2^48 (top byte
 * zero), so a chain lock is never one of them.
 */
export const CHAIN_LOCK_CLASS = 0x6c;

/**
 * The chain lock's key: the class, then 56 bits of a 64-bit hash of the
 * citizen id. (With a 32-bit hash, thousands of pairs of Québec's 9 M
 * citizens would share a lock; with 56 bits, the odds that any pair does are
 * about one in two thousand.)
 */
function chainLockKeySql(citizen: string): string {
  return `((${CHAIN_LOCK_CLASS}::bigint << 56) | (hashtextextended((${citizen})::uuid::text, 0) & 72057594037927935))`;
}

/**
 * The lock on one citizen's chain, for the rest of the transaction: `wait`
 * queues behind the holder, `try` answers false at once when it is held.
 * Every append takes it, so appends to one chain never interleave while
 * appends to different chains never wait on each other.
 */
export function chainLockSql(citizen: string, mode: 'wait' | 'try'): string {
  const fn = mode === 'wait' ? 'pg_advisory_xact_lock' : 'pg_try_advisory_xact_lock';
  return `${fn}(${chainLockKeySql(citizen)})`;
}

/** Which rows of `pg_locks` are chain locks (a bigint key shows its high half in `classid`). */
export const CHAIN_LOCKS_IN_PG_LOCKS = `(locktype = 'advisory' AND objsubid = 1 AND classid::bigint >> 24 = ${CHAIN_LOCK_CLASS})`;

/** Waits for the citizen's chain lock, held until the caller's transaction ends. */
export async function lockChain(em: EntityManager, citizenId: string): Promise<void> {
  await em.query(`SELECT ${chainLockSql('$1', 'wait')}`, [citizenId]);
}

/** The head of a citizen's chain as JSON `{seq, hash}`, or NULL for an empty chain. */
export function chainHeadJsonSql(citizen: string): string {
  return `(SELECT json_build_object('seq', e.seq, 'hash', e.hash)
            FROM access_log_entry e WHERE e.citizen_id = ${citizen} ORDER BY e.seq DESC LIMIT 1)`;
}

/** The columns of a link, in the order of the table and of chainEntryValues. */
const LINK_COLUMNS = `citizen_id, seq, at, service_id, organisation_id, purpose, request_id,
            attributes, outcome, released, withheld, basis, prev_hash, hash`;

/**
 * The one INSERT of a chain link, built by chainEntry, with its 14 values as
 * parameters `$first`… in the order of chainEntryValues, written only if
 * `when` holds (the chain lock, in appendLinkCtes).
 * The (citizen_id, seq) key refuses a second link at the same place.
 */
function appendEntrySql(first: number, when = 'true'): string {
  const p = (i: number, type: string) => `$${first + i}::${type}`;
  return `INSERT INTO access_log_entry (${LINK_COLUMNS})
          SELECT ${p(0, 'uuid')}, ${p(1, 'bigint')}, ${p(2, 'timestamptz')}, ${p(3, 'text')}, ${p(4, 'text')},
                 ${p(5, 'text')}, ${p(6, 'text')}, ${p(7, 'text[]')}, ${p(8, 'text')}, ${p(9, 'text[]')},
                 ${p(10, 'jsonb')}, ${p(11, 'jsonb')}, ${p(12, 'text')}, ${p(13, 'text')}
          WHERE ${when}`;
}

/** True in a statement built with appendLinkCtes while it holds the citizen's chain lock. */
export const CHAIN_LOCK_HELD = '(SELECT held FROM chain_lock)';

/**
 * Every append to the log, as the CTEs `chain_lock` and `link` of one
 * statement: tries the citizen's chain lock (free, or already held by the
 * caller's transaction) and writes the link only while it holds it. The
 * link's 14 values (chainEntryValues) are parameters `$first`…; `citizen`
 * names the citizen's id. The broker's release adds its own CTEs guarded by
 * CHAIN_LOCK_HELD; AccessLogService.append runs it alone. A statement that
 * did not get the lock writes nothing; one whose seq was taken fails with
 * isChainPositionTaken.
 */
export function appendLinkCtes(citizen: string, first: number): string {
  return `chain_lock AS MATERIALIZED (SELECT ${chainLockSql(citizen, 'try')} AS held),
  link AS (${appendEntrySql(first, CHAIN_LOCK_HELD)})`;
}

/**
 * Many appends in one statement (a group commit), as the CTEs `links_in`,
 * `chain_locks` and `links`: `links_in` has the links of the JSON array
 * `entries` (chainEntriesJson of chainBatch), each with its place `n` in the
 * batch; `chain_locks` tries each one's chain lock (as appendLinkCtes does: a
 * chain held by another transaction is not written); `links` returns the
 * links written. A citizen's first link of the batch is not written when its
 * place in the chain is taken (the chain moved since its head was read), and
 * then neither are the links chained after it; nothing else fails with it.
 * Once a first link is written the chain is held and ends there, so the ones
 * after it take free places. linkWrittenSql tells which links were written.
 */
export function appendLinksCtes(entries: string): string {
  return `links_in AS MATERIALIZED (
    SELECT *, row_number() OVER (PARTITION BY citizen_id ORDER BY n) = 1 AS first
      FROM jsonb_to_recordset(${entries}::jsonb) AS l(n int, citizen_id uuid, seq bigint, at timestamptz,
        service_id text, organisation_id text, purpose text, request_id text, attributes text[], outcome text,
        released text[], withheld jsonb, basis jsonb, prev_hash text, hash text)),
  chain_locks AS MATERIALIZED (SELECT n, ${chainLockSql('citizen_id', 'try')} AS held FROM links_in),
  first_links AS (
    INSERT INTO access_log_entry (${LINK_COLUMNS})
    SELECT ${LINK_COLUMNS} FROM links_in JOIN chain_locks USING (n) WHERE held AND first ORDER BY n
    ON CONFLICT DO NOTHING
    RETURNING citizen_id, seq, hash),
  next_links AS (
    INSERT INTO access_log_entry (${LINK_COLUMNS})
    SELECT ${LINK_COLUMNS} FROM links_in
     WHERE NOT first AND citizen_id IN (SELECT citizen_id FROM first_links) ORDER BY n
    RETURNING citizen_id, seq, hash),
  links AS (SELECT * FROM first_links UNION ALL SELECT * FROM next_links)`;
}

/** Whether the row `link` of `links_in` (appendLinksCtes) was written. */
export function linkWrittenSql(link: string): string {
  return `EXISTS (SELECT 1 FROM links w WHERE w.citizen_id = ${link}.citizen_id AND w.seq = ${link}.seq AND w.hash = ${link}.hash)`;
}

/** The links of a batch as appendLinksCtes reads them, each with its place `n`. */
export function chainEntriesJson(entries: AccessLogEntry[]): string {
  return JSON.stringify(
    entries.map((entry, n) => ({
      n,
      citizen_id: entry.citizenId,
      seq: entry.seq,
      at: entry.at.toISOString(),
      service_id: entry.serviceId,
      organisation_id: entry.organisationId,
      purpose: entry.purpose,
      request_id: entry.requestId,
      attributes: entry.attributes,
      outcome: entry.outcome,
      released: entry.released,
      withheld: entry.withheld,
      basis: entry.basis,
      prev_hash: entry.prevHash,
      hash: entry.hash,
    })),
  );
}

/** Another append took this link's place in the chain (the (citizen_id, seq) key). */
export function isChainPositionTaken(error: unknown): boolean {
  const { constraint, driverError } = (error ?? {}) as {
    constraint?: unknown;
    driverError?: { constraint?: unknown };
  };
  return (constraint ?? driverError?.constraint) === 'access_log_entry_pk';
}

export function chainEntryValues(entry: AccessLogEntry): unknown[] {
  return [
    entry.citizenId,
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
  ];
}
