import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AccessLogEntry } from './access-log-entry.entity.js';
import { chainEntry } from './hash-chain.js';

export type NewAccessLogEntry = Omit<AccessLogEntry, 'seq' | 'prevHash' | 'hash' | 'at'>;

export interface AccessLogPage {
  entries: AccessLogEntry[];
  head: { seq: number; hash: string } | null;
  nextBefore: number | null;
}

/** Namespace of the per-citizen advisory locks that serialise appends to one chain. */
const CHAIN_LOCK_CLASS = 0x6c6f67;

@Injectable()
export class AccessLogService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends to the citizen's chain in the caller's transaction, waiting for
   * any other append to the same chain. (The broker's data-request path
   * builds its entry with the same chainEntry inside one statement, see
   * apps/broker ReleaseStore, and retries on a seq conflict instead.)
   */
  async append(em: EntityManager, input: NewAccessLogEntry): Promise<AccessLogEntry> {
    await em.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CHAIN_LOCK_CLASS, input.citizenId]);
    const [last]: { seq: string; hash: string }[] = await em.query(
      'SELECT seq, hash FROM access_log_entry WHERE citizen_id = $1 ORDER BY seq DESC LIMIT 1',
      [input.citizenId],
    );
    const entry = chainEntry(last ? { seq: Number(last.seq), hash: last.hash } : null, input);
    await em.insert(AccessLogEntry, entry);
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
