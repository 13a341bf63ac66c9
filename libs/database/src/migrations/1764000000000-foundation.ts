import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registry versions, citizens, their encrypted attribute values and history,
 * consents, consent requests and the access log. Every table that grows with
 * citizens starts its key with citizen_id (distribution column), except
 * consent_request, which exists before a citizen is known.
 */
export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE registry_version (
        version     integer GENERATED ALWAYS AS IDENTITY CONSTRAINT registry_version_pk PRIMARY KEY,
        content_hash text NOT NULL,
        registry    jsonb NOT NULL,
        catalogue   jsonb NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT now()
      )`);

    await db.query(`
      CREATE TABLE citizen (
        id          uuid CONSTRAINT citizen_pk PRIMARY KEY,
        issuer      text NOT NULL,
        subject     text,
        language    text NOT NULL DEFAULT 'fr' CONSTRAINT citizen_language_ck CHECK (language IN ('fr', 'en')),
        channels    jsonb NOT NULL DEFAULT '{"email": true, "sms": false, "portal": true}',
        quiet_hours jsonb NOT NULL DEFAULT '{"start": "21:00", "end": "08:00"}',
        created_at  timestamptz NOT NULL DEFAULT now(),
        erased_at   timestamptz
      )`);
    await db.query(
      `CREATE UNIQUE INDEX citizen_issuer_subject_uq ON citizen (issuer, subject) WHERE subject IS NOT NULL`,
    );

    await db.query(`
      CREATE TABLE citizen_key (
        citizen_id         uuid CONSTRAINT citizen_key_pk PRIMARY KEY
                           CONSTRAINT citizen_key_citizen_fk REFERENCES citizen (id),
        master_key_id      text NOT NULL,
        master_key_version integer NOT NULL,
        wrapped_key        bytea NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        rotated_at         timestamptz
      )`);
    await db.query(
      `CREATE INDEX citizen_key_master_key_idx ON citizen_key (master_key_id, master_key_version)`,
    );

    await db.query(`
      CREATE TABLE attribute_value (
        citizen_id             uuid NOT NULL CONSTRAINT attribute_value_citizen_fk REFERENCES citizen (id),
        attribute              text NOT NULL,
        ciphertext             bytea NOT NULL,
        source_kind            text NOT NULL CONSTRAINT attribute_value_source_kind_ck
                               CHECK (source_kind IN ('citizen', 'organisation')),
        source_organisation_id text,
        written_by             text NOT NULL,
        revision               integer NOT NULL,
        updated_at             timestamptz NOT NULL,
        CONSTRAINT attribute_value_pk PRIMARY KEY (citizen_id, attribute)
      )`);

    await db.query(`
      CREATE TABLE attribute_history (
        citizen_id             uuid NOT NULL CONSTRAINT attribute_history_citizen_fk REFERENCES citizen (id),
        attribute              text NOT NULL,
        revision               integer NOT NULL,
        ciphertext             bytea NOT NULL,
        source_kind            text NOT NULL,
        source_organisation_id text,
        written_by             text NOT NULL,
        written_at             timestamptz NOT NULL,
        CONSTRAINT attribute_history_pk PRIMARY KEY (citizen_id, attribute, revision)
      )`);

    await db.query(`
      CREATE TABLE consent (
        citizen_id         uuid NOT NULL CONSTRAINT consent_citizen_fk REFERENCES citizen (id),
        id                 uuid NOT NULL,
        service_id         text NOT NULL,
        organisation_id    text NOT NULL,
        purpose            text NOT NULL,
        attributes         text[] NOT NULL,
        mode               text NOT NULL CONSTRAINT consent_mode_ck CHECK (mode IN ('once', 'ongoing')),
        status             text NOT NULL CONSTRAINT consent_status_ck CHECK (status IN ('active', 'revoked', 'used')),
        granted_at         timestamptz NOT NULL,
        expires_at         timestamptz,
        revoked_at         timestamptz,
        used_at            timestamptz,
        consent_request_id uuid,
        registry_version   integer NOT NULL,
        CONSTRAINT consent_pk PRIMARY KEY (citizen_id, id)
      )`);
    await db.query(
      `CREATE INDEX consent_lookup_idx ON consent (citizen_id, service_id, purpose) WHERE status = 'active'`,
    );

    await db.query(`
      CREATE TABLE consent_request (
        id                uuid CONSTRAINT consent_request_pk PRIMARY KEY,
        service_id        text NOT NULL,
        organisation_id   text NOT NULL,
        purpose           text NOT NULL,
        attributes        text[] NOT NULL,
        mode              text NOT NULL CONSTRAINT consent_request_mode_ck CHECK (mode IN ('once', 'ongoing')),
        consent_expires_at timestamptz,
        callback_url      text,
        status            text NOT NULL CONSTRAINT consent_request_status_ck
                          CHECK (status IN ('pending', 'approved', 'denied')),
        citizen_id        uuid CONSTRAINT consent_request_citizen_fk REFERENCES citizen (id),
        consent_id        uuid,
        created_at        timestamptz NOT NULL DEFAULT now(),
        expires_at        timestamptz NOT NULL,
        decided_at        timestamptz
      )`);
    await db.query(
      `CREATE INDEX consent_request_citizen_idx ON consent_request (citizen_id, status) WHERE citizen_id IS NOT NULL`,
    );

    await db.query(`
      CREATE TABLE access_log_entry (
        citizen_id      uuid NOT NULL CONSTRAINT access_log_entry_citizen_fk REFERENCES citizen (id),
        seq             bigint NOT NULL,
        at              timestamptz NOT NULL,
        service_id      text NOT NULL,
        organisation_id text NOT NULL,
        purpose         text NOT NULL,
        request_id      text,
        attributes      text[] NOT NULL,
        outcome         text NOT NULL CONSTRAINT access_log_entry_outcome_ck
                        CHECK (outcome IN ('released', 'partial', 'withheld')),
        released        text[] NOT NULL,
        withheld        jsonb NOT NULL,
        basis           jsonb NOT NULL,
        prev_hash       text NOT NULL,
        hash            text NOT NULL,
        CONSTRAINT access_log_entry_pk PRIMARY KEY (citizen_id, seq)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of [
      'access_log_entry',
      'consent_request',
      'consent',
      'attribute_history',
      'attribute_value',
      'citizen_key',
      'citizen',
      'registry_version',
    ]) {
      await db.query(`DROP TABLE ${table}`);
    }
  }
}
