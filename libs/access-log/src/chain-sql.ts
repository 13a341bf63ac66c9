import type { AccessLogEntry } from './access-log-entry.entity.js';

/** Namespace of the per-citizen advisory locks that serialise appends to one chain. */
export const CHAIN_LOCK_CLASS = 0x6c6f67;

/**
 * The lock on one citizen's chain, for the rest of the transaction: `wait`
 * queues behind the holder, `try` answers false at once when it is held.
 * Every append takes it, so appends to one chain never interleave while
 * appends to different chains never wait on each other.
 */
export function chainLockSql(citizen: string, mode: 'wait' | 'try'): string {
  const fn = mode === 'wait' ? 'pg_advisory_xact_lock' : 'pg_try_advisory_xact_lock';
  return `${fn}(${CHAIN_LOCK_CLASS}, hashtext((${citizen})::uuid::text))`;
}

/** The head of a citizen's chain as JSON `{seq, hash}`, or NULL for an empty chain. */
export function chainHeadJsonSql(citizen: string): string {
  return `(SELECT json_build_object('seq', e.seq, 'hash', e.hash)
            FROM access_log_entry e WHERE e.citizen_id = ${citizen} ORDER BY e.seq DESC LIMIT 1)`;
}

/**
 * The one INSERT of a chain link, built by chainEntry, with its 14 values as
 * parameters `$first`… in the order of chainEntryValues. With `when`, the row
 * is written only if that condition holds (a guard in a larger statement).
 * The (citizen_id, seq) key refuses a second link at the same place.
 */
export function appendEntrySql(first: number, when = 'true'): string {
  const p = (i: number, type: string) => `$${first + i}::${type}`;
  return `INSERT INTO access_log_entry (citizen_id, seq, at, service_id, organisation_id, purpose, request_id,
            attributes, outcome, released, withheld, basis, prev_hash, hash)
          SELECT ${p(0, 'uuid')}, ${p(1, 'bigint')}, ${p(2, 'timestamptz')}, ${p(3, 'text')}, ${p(4, 'text')},
                 ${p(5, 'text')}, ${p(6, 'text')}, ${p(7, 'text[]')}, ${p(8, 'text')}, ${p(9, 'text[]')},
                 ${p(10, 'jsonb')}, ${p(11, 'jsonb')}, ${p(12, 'text')}, ${p(13, 'text')}
          WHERE ${when}`;
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
