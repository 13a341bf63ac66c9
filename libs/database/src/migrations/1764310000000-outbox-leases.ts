import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A claimed webhook's lease gets a column of its own, apart from when the
 * next attempt is due: the relay counts each service's events in flight
 * (leased, not yet answered) to cap them per service across every scheduler,
 * so a receiver that stalls its deliveries holds only its own slots.
 */
export class OutboxLeases1764310000000 implements MigrationInterface {
  name = 'OutboxLeases1764310000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE outbox_event ADD COLUMN leased_until timestamptz`);
    await db.query(
      `CREATE INDEX outbox_event_in_flight_idx ON outbox_event (service_id, leased_until)
       WHERE topic = 'webhook' AND status = 'pending' AND leased_until IS NOT NULL`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX outbox_event_in_flight_idx`);
    await db.query(`ALTER TABLE outbox_event DROP COLUMN leased_until`);
  }
}
