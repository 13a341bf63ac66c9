import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lease index no longer has `status = 'queued'` as its predicate: a
 * worker's lookup of its reminders by id (`id = ANY (…) AND status =
 * 'queued'`) matched that predicate, and the planner, seeing a small index,
 * read every reminder in flight for each batch instead of a few by id. A
 * lease is now held by queued reminders only (checked), and the index covers
 * the rows with one, which only the sweep's search for expired leases asks.
 */
export class ReminderLeaseIndex1764420000000 implements MigrationInterface {
  name = 'ReminderLeaseIndex1764420000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`UPDATE reminder SET lease_until = NULL WHERE status <> 'queued' AND lease_until IS NOT NULL`);
    await db.query(
      `ALTER TABLE reminder ADD CONSTRAINT reminder_lease_ck CHECK (lease_until IS NULL OR status = 'queued')`,
    );
    await db.query(`DROP INDEX reminder_lease_idx`);
    await db.query(`CREATE INDEX reminder_lease_idx ON reminder (lease_until) WHERE lease_until IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX reminder_lease_idx`);
    await db.query(`CREATE INDEX reminder_lease_idx ON reminder (lease_until) WHERE status = 'queued'`);
    await db.query(`ALTER TABLE reminder DROP CONSTRAINT reminder_lease_ck`);
  }
}
