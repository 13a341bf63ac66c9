import type { DataSource } from 'typeorm';
import { AccessLogEntry } from './access-log-entry.entity.js';
import { firstBrokenEntry } from './hash-chain.js';

export interface AuditResult {
  chains: number;
  entries: number;
  /** The first citizen (in id order) whose chain does not hold, and the first bad entry in it. */
  broken: { citizenId: string; seq: number } | null;
}

/** Recomputes every citizen's chain, a batch of citizens at a time, and stops at the first broken one. */
export async function auditAccessLog(dataSource: DataSource, batchSize = 500): Promise<AuditResult> {
  let chains = 0;
  let entries = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const citizens: { citizen_id: string }[] = await dataSource.query(
      `SELECT DISTINCT citizen_id FROM access_log_entry WHERE citizen_id > $1 ORDER BY citizen_id LIMIT $2`,
      [after, batchSize],
    );
    if (citizens.length === 0) return { chains, entries, broken: null };
    const ids = citizens.map((c) => c.citizen_id);
    const rows = await dataSource
      .getRepository(AccessLogEntry)
      .createQueryBuilder('e')
      .where('e.citizen_id = ANY(:ids)', { ids })
      .orderBy('e.citizen_id')
      .addOrderBy('e.seq')
      .getMany();
    // The rows come in citizen order: each chain is a run of them.
    const byCitizen = new Map<string, AccessLogEntry[]>();
    for (const row of rows) {
      const chain = byCitizen.get(row.citizenId);
      if (chain) chain.push(row);
      else byCitizen.set(row.citizenId, [row]);
    }
    for (const citizenId of ids) {
      const chain = byCitizen.get(citizenId) ?? [];
      chains += 1;
      entries += chain.length;
      const broken = firstBrokenEntry(chain);
      if (broken) return { chains, entries, broken: { citizenId, seq: broken.seq } };
    }
    after = ids[ids.length - 1];
  }
}
