import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AccessLogEntry } from './access-log-entry.entity.js';
import {
  appendLinkCtes,
  CHAIN_LOCK_HELD,
  chainEntryValues,
  chainHeadJsonSql,
  lockChain,
} from './chain-sql.js';
import { chainEntry } from './hash-chain.js';

export type NewAccessLogEntry = Omit<AccessLogEntry, 'seq' | 'prevHash' | 'hash' | 'at'>;

export interface AccessLogPage {
  entries: AccessLogEntry[];
  head: { seq: number; hash: string } | null;
  nextBefore: number | null;
}

@Injectable()
export class AccessLogService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends to the citizen's chain in the caller's transaction, after any
   * other append to the same chain: waits for the chain's lock, reads the
   * head, and writes the link with the statement fragment every append uses
   * (appendLinkCtes, which the broker's release composes into its one write).
   * `at` is for tests that need an entry stamped in the past.
   */
  async append(em: EntityManager, input: NewAccessLogEntry, at = new Date()): Promise<AccessLogEntry> {
    await lockChain(em, input.citizenId);
    const [{ head }]: { head: { seq: number; hash: string } | null }[] = await em.query(
      `SELECT ${chainHeadJsonSql('$1')} AS head`,
      [input.citizenId],
    );
    const entry = chainEntry(head ? { seq: Number(head.seq), hash: head.hash } : null, input, at);
    const [{ locked }]: { locked: boolean }[] = await em.query(
      `WITH ${appendLinkCtes('$1', 1)} SELECT ${CHAIN_LOCK_HELD} AS locked`,
      chainEntryValues(entry),
    );
    if (!locked) throw new Error('the chain lock taken above was not held'); // never: advisory locks are re-entrant
    return entry;
  }

  /** Newest first. */
  async page(
    citizenId: string,
    limit: number,
    before?: number,
    em: EntityManager = this.dataSource.manager,
  ): Promise<AccessLogPage> {
    const query = em
      .createQueryBuilder(AccessLogEntry, 'e')
      .where('e.citizen_id = :citizenId', { citizenId })
      .orderBy('e.seq', 'DESC')
      .limit(limit + 1);
    if (before !== undefined) query.andWhere('e.seq < :before', { before });
    const rows = await query.getMany();
    const head = await em.findOne(AccessLogEntry, { where: { citizenId }, order: { seq: 'DESC' } });
    const entries = rows.slice(0, limit);
    return {
      entries,
      head: head ? { seq: head.seq, hash: head.hash } : null,
      nextBefore: rows.length > limit ? entries[entries.length - 1].seq : null,
    };
  }

  async all(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<AccessLogEntry[]> {
    return em.find(AccessLogEntry, { where: { citizenId }, order: { seq: 'ASC' } });
  }
}
