import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The broker: pairwise identifiers, single-use client assertions, the outbox
 * of events (webhooks now, metric events later), collection reports, and the
 * access log made append-only.
 *
 * The apps are meant to connect as a login role granted `unefois_app`, which
 * may read and insert access-log rows but never update or delete them; the
 * trigger refuses updates and deletes to every role, superusers included,
 * unless one deliberately disables it.
 */
export class Broker1764100000000 implements MigrationInterface {
  name = 'Broker1764100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE pairwise_id (
        citizen_id      uuid NOT NULL CONSTRAINT pairwise_id_citizen_fk REFERENCES citizen (id),
        organisation_id text NOT NULL,
        ppid            text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pairwise_id_pk PRIMARY KEY (citizen_id, organisation_id)
      )`);
    await db.query(`CREATE UNIQUE INDEX pairwise_id_ppid_uq ON pairwise_id (organisation_id, ppid)`);

    await db.query(`
      CREATE TABLE client_assertion_jti (
        service_id text NOT NULL,
        jti        text NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT client_assertion_jti_pk PRIMARY KEY (service_id, jti)
      )`);
    await db.query(`CREATE INDEX client_assertion_jti_expiry_idx ON client_assertion_jti (expires_at)`);

    await db.query(`
      CREATE TABLE outbox_event (
        id              uuid CONSTRAINT outbox_event_pk PRIMARY KEY,
        topic           text NOT NULL CONSTRAINT outbox_event_topic_ck CHECK (topic IN ('webhook', 'metric')),
        type            text NOT NULL,
        occurred_at     timestamptz NOT NULL DEFAULT now(),
        service_id      text,
        url             text,
        data            jsonb NOT NULL,
        status          text NOT NULL DEFAULT 'pending'
                        CONSTRAINT outbox_event_status_ck CHECK (status IN ('pending', 'delivered')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at    timestamptz,
        last_error      text
      )`);
    await db.query(
      `CREATE INDEX outbox_event_due_idx ON outbox_event (topic, next_attempt_at) WHERE status = 'pending'`,
    );

    await db.query(`
      CREATE TABLE collection_report (
        citizen_id      uuid NOT NULL CONSTRAINT collection_report_citizen_fk REFERENCES citizen (id),
        id              uuid NOT NULL,
        service_id      text NOT NULL,
        organisation_id text NOT NULL,
        attributes      text[] NOT NULL,
        re_asked        text[] NOT NULL,
        first_time      text[] NOT NULL,
        reported_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT collection_report_pk PRIMARY KEY (citizen_id, id)
      )`);
    await db.query(
      `CREATE INDEX collection_report_service_idx ON collection_report (service_id, reported_at)`,
    );

    await db.query(`CREATE INDEX consent_request_service_idx ON consent_request (service_id, created_at)`);

    await db.query(`
      CREATE FUNCTION access_log_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'access_log_entry is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER access_log_entry_append_only BEFORE UPDATE OR DELETE ON access_log_entry
      FOR EACH ROW EXECUTE FUNCTION access_log_entry_append_only()`);
    await db.query(`
      DO $$ BEGIN
        CREATE ROLE unefois_app NOLOGIN;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; -- a cluster-wide role: another database made it
      END $$`);
    await db.query(`GRANT USAGE ON SCHEMA public TO unefois_app`);
    await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO unefois_app`);
    await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON access_log_entry FROM unefois_app`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM unefois_app`);
    await db.query(`REVOKE USAGE ON SCHEMA public FROM unefois_app`);
    await db.query(`DROP TRIGGER access_log_entry_append_only ON access_log_entry`);
    await db.query(`DROP FUNCTION access_log_entry_append_only()`);
    await db.query(`DROP INDEX consent_request_service_idx`);
    for (const table of ['collection_report', 'outbox_event', 'client_assertion_jti', 'pairwise_id']) {
      await db.query(`DROP TABLE ${table}`);
    }
  }
}
