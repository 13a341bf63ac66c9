import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A citizen's calendar feed: a capability URL a calendar app can subscribe
 * to without a bearer token. Only the SHA-256 of its 256-bit secret is kept,
 * so the table alone opens no feed. One feed a citizen: a new secret
 * replaces (revokes) the old one.
 */
export class CalendarFeed1764410000000 implements MigrationInterface {
  name = 'CalendarFeed1764410000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE calendar_feed (
        citizen_id uuid CONSTRAINT calendar_feed_pk PRIMARY KEY CONSTRAINT calendar_feed_citizen_fk REFERENCES citizen (id),
        token_hash bytea NOT NULL CONSTRAINT calendar_feed_token_uq UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_feed TO unefois_app`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE calendar_feed`);
  }
}
