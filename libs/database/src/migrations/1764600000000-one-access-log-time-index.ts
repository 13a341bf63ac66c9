import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The access log had two identical BRIN indexes on its time: the
 * checkpoints' (access_log_entry_at_brin) and the release summaries'
 * (access_log_entry_at_idx). One serves both; every append kept both.
 */
export class OneAccessLogTimeIndex1764600000000 implements MigrationInterface {
  name = 'OneAccessLogTimeIndex1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX access_log_entry_at_idx`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX access_log_entry_at_idx ON access_log_entry USING brin (at)`);
  }
}
