import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Daily release counts for Ambition 2's reuse rate, without a row per
 * release on the broker's hot path: `release_summary` holds the last
 * Montréal day whose releases were counted (`service.releases` events), and
 * a BRIN index on the access log's time (cheap to keep, the log being
 * written in time order) finds one day's entries.
 */
export class ReleaseSummaries1764500000000 implements MigrationInterface {
  name = 'ReleaseSummaries1764500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE release_summary (
        id      boolean PRIMARY KEY DEFAULT true CONSTRAINT release_summary_one_row_ck CHECK (id),
        through date
      )`);
    await db.query(`INSERT INTO release_summary (id, through) VALUES (true, NULL)`);
    await db.query(`CREATE INDEX access_log_entry_at_idx ON access_log_entry USING brin (at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX access_log_entry_at_idx`);
    await db.query(`DROP TABLE release_summary`);
  }
}
