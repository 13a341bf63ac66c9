import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The erasure register: which citizen was erased and when, nothing else (no
 * personal data), written in the erasure's transaction. A backup taken before
 * an erasure still holds the citizen's wrapped data key; after a restore,
 * `cli erasure:replay` re-applies every registered erasure. No foreign key:
 * the register is replayed into restores where the citizen's row may not
 * exist yet. Append-only like the access log: an erasure is never undone.
 */
export class ErasureRegister1764350000000 implements MigrationInterface {
  name = 'ErasureRegister1764350000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE erasure_register (
        citizen_id uuid CONSTRAINT erasure_register_pk PRIMARY KEY,
        erased_at  timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE FUNCTION erasure_register_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'erasure_register is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER erasure_register_append_only BEFORE UPDATE OR DELETE ON erasure_register
      FOR EACH ROW EXECUTE FUNCTION erasure_register_append_only()`);
    await db.query(`GRANT SELECT, INSERT ON erasure_register TO unefois_app`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE erasure_register`);
    await db.query(`DROP FUNCTION erasure_register_append_only()`);
  }
}
