import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deadlines, their reminders, each reminder's delivery per channel, and the
 * portal notifications (rule 6: a reminder is a row first; queues are fed
 * from rows). Keys start with citizen_id like every table that grows with
 * citizens; services and workers address a deadline or a reminder by its id
 * alone, hence the indexes on id.
 */
export class Reminders1764400000000 implements MigrationInterface {
  name = 'Reminders1764400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE deadline (
        citizen_id       uuid NOT NULL CONSTRAINT deadline_citizen_fk REFERENCES citizen (id),
        id               uuid NOT NULL,
        kind             text NOT NULL,
        organisation_id  text NOT NULL,
        -- The service that registered it; null for a deadline derived from an expiring attribute.
        service_id       text,
        -- The expiring attribute it comes from (catalogue), or null for a service's deadline.
        source_attribute text,
        external_ref     text,
        title            jsonb NOT NULL,
        action_url       text,
        due_at           timestamptz NOT NULL,
        status           text NOT NULL DEFAULT 'open'
                         CONSTRAINT deadline_status_ck CHECK (status IN ('open', 'completed', 'cancelled')),
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        closed_at        timestamptz,
        CONSTRAINT deadline_pk PRIMARY KEY (citizen_id, id),
        CONSTRAINT deadline_source_ck CHECK ((service_id IS NULL) <> (source_attribute IS NULL))
      )`);
    await db.query(`CREATE UNIQUE INDEX deadline_id_uq ON deadline (id)`);
    await db.query(
      `CREATE UNIQUE INDEX deadline_service_ref_uq ON deadline (service_id, external_ref)
       WHERE service_id IS NOT NULL AND external_ref IS NOT NULL`,
    );
    await db.query(
      `CREATE UNIQUE INDEX deadline_attribute_uq ON deadline (citizen_id, source_attribute)
       WHERE source_attribute IS NOT NULL`,
    );
    await db.query(`CREATE INDEX deadline_due_idx ON deadline (citizen_id, due_at)`);

    await db.query(`
      CREATE TABLE reminder (
        citizen_id   uuid NOT NULL,
        id           uuid NOT NULL,
        deadline_id  uuid NOT NULL,
        offset_days  integer NOT NULL CONSTRAINT reminder_offset_ck CHECK (offset_days >= 0),
        -- due_at minus offset_days (America/Montreal calendar days), before quiet hours.
        planned_at   timestamptz NOT NULL,
        -- When it leaves: planned_at moved out of the citizen's quiet hours.
        send_at      timestamptz NOT NULL,
        status       text NOT NULL CONSTRAINT reminder_status_ck CHECK (status IN
                     ('scheduled', 'queued', 'sent', 'delivered', 'failed', 'cancelled', 'suppressed', 'skipped')),
        reason       text,
        -- While queued: until when its job is taken to be in Redis; past it the sweeper queues it again.
        lease_until  timestamptz,
        attempts     integer NOT NULL DEFAULT 0,
        created_at   timestamptz NOT NULL DEFAULT now(),
        queued_at    timestamptz,
        sent_at      timestamptz,
        delivered_at timestamptz,
        failed_at    timestamptz,
        cancelled_at timestamptz,
        CONSTRAINT reminder_pk PRIMARY KEY (citizen_id, id),
        CONSTRAINT reminder_deadline_fk FOREIGN KEY (citizen_id, deadline_id)
          REFERENCES deadline (citizen_id, id) ON DELETE CASCADE
      )`);
    await db.query(`CREATE UNIQUE INDEX reminder_id_uq ON reminder (id)`);
    await db.query(`CREATE INDEX reminder_deadline_idx ON reminder (citizen_id, deadline_id)`);
    // The sweeper's two questions: what is due, and what was queued and lost.
    await db.query(`CREATE INDEX reminder_due_idx ON reminder (send_at) WHERE status = 'scheduled'`);
    await db.query(`CREATE INDEX reminder_lease_idx ON reminder (lease_until) WHERE status = 'queued'`);

    await db.query(`
      CREATE TABLE reminder_delivery (
        citizen_id   uuid NOT NULL,
        reminder_id  uuid NOT NULL,
        channel      text NOT NULL CONSTRAINT reminder_delivery_channel_ck CHECK (channel IN ('email', 'sms', 'portal')),
        status       text NOT NULL CONSTRAINT reminder_delivery_status_ck CHECK (status IN
                     ('sent', 'delivered', 'failed', 'suppressed')),
        reason       text,
        provider_ref text,
        at           timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reminder_delivery_pk PRIMARY KEY (citizen_id, reminder_id, channel),
        CONSTRAINT reminder_delivery_reminder_fk FOREIGN KEY (citizen_id, reminder_id)
          REFERENCES reminder (citizen_id, id) ON DELETE CASCADE
      )`);

    await db.query(`
      CREATE TABLE notification (
        citizen_id  uuid NOT NULL CONSTRAINT notification_citizen_fk REFERENCES citizen (id),
        -- The reminder's id: one portal notification per reminder, written at most once.
        id          uuid NOT NULL,
        deadline_id uuid,
        language    text NOT NULL CONSTRAINT notification_language_ck CHECK (language IN ('fr', 'en')),
        subject     text NOT NULL,
        body        text NOT NULL,
        action_url  text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        read_at     timestamptz,
        CONSTRAINT notification_pk PRIMARY KEY (citizen_id, id)
      )`);
    await db.query(`CREATE INDEX notification_created_idx ON notification (citizen_id, created_at DESC)`);

    await db.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON deadline, reminder, reminder_delivery, notification TO unefois_app`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE notification`);
    await db.query(`DROP TABLE reminder_delivery`);
    await db.query(`DROP TABLE reminder`);
    await db.query(`DROP TABLE deadline`);
  }
}
