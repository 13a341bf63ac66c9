import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed checkpoints over the access-log chains (rule 4): each checkpoint is
 * an RFC 6962 Merkle root over the heads of the chains that grew since the
 * previous one, linked to the previous root and signed by the platform. Its
 * leaves say which entry of which chain it covers (a foreign key: a
 * retention policy that ever purges log entries has to decide what becomes
 * of the checkpoints over them). Both tables are append-only, like the log;
 * a BRIN index on the entries' time finds the chains that grew since a
 * checkpoint without weighing on every append.
 */
export class AccessLogCheckpoints1764200000000 implements MigrationInterface {
  name = 'AccessLogCheckpoints1764200000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE access_log_checkpoint (
        id        bigint PRIMARY KEY CONSTRAINT access_log_checkpoint_id_ck CHECK (id > 0), -- the checkpoint's seq
        at        timestamptz NOT NULL,
        prev_root text NOT NULL,
        root      text NOT NULL,
        size      integer NOT NULL,
        jws       text NOT NULL
      )`);
    await db.query(`
      CREATE TABLE access_log_checkpoint_leaf (
        checkpoint_id bigint NOT NULL CONSTRAINT access_log_checkpoint_leaf_checkpoint_fk
                      REFERENCES access_log_checkpoint (id),
        position      integer NOT NULL,
        citizen_id    uuid NOT NULL,
        seq           bigint NOT NULL,
        hash          text NOT NULL,
        CONSTRAINT access_log_checkpoint_leaf_pk PRIMARY KEY (checkpoint_id, position),
        CONSTRAINT access_log_checkpoint_leaf_entry_fk FOREIGN KEY (citizen_id, seq)
                   REFERENCES access_log_entry (citizen_id, seq)
      )`);
    await db.query(
      `CREATE INDEX access_log_checkpoint_leaf_citizen_idx ON access_log_checkpoint_leaf (citizen_id, checkpoint_id DESC)`,
    );
    await db.query(`CREATE INDEX access_log_entry_at_brin ON access_log_entry USING brin (at)`);
    await db.query(`
      CREATE FUNCTION access_log_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const table of ['access_log_checkpoint', 'access_log_checkpoint_leaf']) {
      await db.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
        FOR EACH ROW EXECUTE FUNCTION access_log_checkpoint_append_only()`);
      await db.query(`GRANT SELECT, INSERT ON ${table} TO unefois_app`);
    }
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE access_log_checkpoint_leaf`);
    await db.query(`DROP TABLE access_log_checkpoint`);
    await db.query(`DROP FUNCTION access_log_checkpoint_append_only()`);
    await db.query(`DROP INDEX access_log_entry_at_brin`);
  }
}
