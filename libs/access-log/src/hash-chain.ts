import { createHash } from 'node:crypto';
import type { AccessLogEntry } from './access-log-entry.entity.js';

export const GENESIS_HASH = '0'.repeat(64);

/** Canonical JSON: keys sorted at every level, no whitespace, so a hash can be recomputed anywhere. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`)
    .join(',')}}`;
}

type Hashed = Omit<AccessLogEntry, 'hash' | 'prevHash'>;

/** The fields an entry's hash covers: everything but the hashes themselves. */
export function canonicalEntry(entry: Hashed): string {
  return canonicalJson({
    citizenId: entry.citizenId,
    seq: entry.seq,
    at: entry.at.toISOString(),
    serviceId: entry.serviceId,
    organisationId: entry.organisationId,
    purpose: entry.purpose,
    requestId: entry.requestId,
    attributes: entry.attributes,
    outcome: entry.outcome,
    released: entry.released,
    withheld: entry.withheld,
    basis: entry.basis,
  });
}

/** entry hash = SHA-256(previous hash ‖ canonical entry), hex. */
export function entryHash(prevHash: string, entry: Hashed): string {
  return createHash('sha256').update(prevHash).update(canonicalEntry(entry)).digest('hex');
}

/** The first entry (in seq order) whose link or hash does not hold, or null when the chain is intact. */
export function firstBrokenEntry(entries: AccessLogEntry[]): AccessLogEntry | null {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const entry of entries) {
    if (entry.seq !== expectedSeq || entry.prevHash !== prev || entryHash(prev, entry) !== entry.hash)
      return entry;
    prev = entry.hash;
    expectedSeq += 1;
  }
  return null;
}

export type ChainHead = { seq: number; hash: string } | null;

/**
 * The next link of a chain: its seq and both hashes. The one way entries are
 * built, whoever writes them; a concurrent writer of the same seq loses on
 * the (citizen_id, seq) key.
 */
export function chainEntry(
  head: ChainHead,
  input: Omit<AccessLogEntry, 'seq' | 'prevHash' | 'hash' | 'at'>,
  at = new Date(),
): AccessLogEntry {
  const prevHash = head?.hash ?? GENESIS_HASH;
  const entry = { ...input, seq: (head?.seq ?? 0) + 1, at, prevHash, hash: '' };
  entry.hash = entryHash(prevHash, entry);
  return entry;
}

/** An append as its request built it: the chain's head it read, and its entry's fields. */
export interface PendingAppend {
  head: ChainHead;
  input: Omit<AccessLogEntry, 'seq' | 'prevHash' | 'hash' | 'at'>;
  at: Date;
}

/**
 * The links of a group commit, in order: each citizen's appends chained one
 * after the other from the head the first of them read. (appendLinksCtes
 * writes a citizen's later links only when the first is written, so a head
 * that moved meanwhile fails them all, and nothing forks.)
 */
export function chainBatch(appends: PendingAppend[]): AccessLogEntry[] {
  const heads = new Map<string, ChainHead>();
  return appends.map(({ head, input, at }) => {
    const entry = chainEntry(heads.has(input.citizenId) ? heads.get(input.citizenId)! : head, input, at);
    heads.set(input.citizenId, { seq: entry.seq, hash: entry.hash });
    return entry;
  });
}
