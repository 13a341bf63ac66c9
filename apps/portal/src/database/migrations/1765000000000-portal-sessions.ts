import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The portal's server-side sessions. A row is found by the SHA-256 of the
 * cookie's secret, and its data (the citizen's tokens among them) is sealed
 * with a key derived from that secret: the table alone opens no session and
 * shows no token.
 */
export class PortalSessions1765000000000 implements MigrationInterface {
  name = 'PortalSessions1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE portal.session (
        id_hash      bytea PRIMARY KEY,
        sealed       bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX session_last_seen_idx ON portal.session (last_seen_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE portal.session`);
  }
}
