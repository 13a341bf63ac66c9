import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The barometer's one table: the metric events it accepted, each once (by
 * its CloudEvent id), as the platform signed them. The indicators are
 * computed from these rows only.
 */
export class BarometerEvents1764600000000 implements MigrationInterface {
  name = 'BarometerEvents1764600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE barometer.event (
        id          uuid PRIMARY KEY,
        type        text NOT NULL,
        time        timestamptz NOT NULL,
        data        jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX event_type_idx ON barometer.event (type)`);
    await db.query(
      `CREATE INDEX event_deadline_idx ON barometer.event ((data->>'deadline')) WHERE data ? 'deadline'`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE barometer.event`);
  }
}
