import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How each registry version was applied: `boot` (an app applying
 * REGISTRY_FILE as it starts) or `cli` (`registry:apply`, on purpose). A boot
 * never replaces a version the CLI applied, so a restart cannot bring back a
 * key the CLI revoked. Versions applied before this was recorded stay NULL,
 * and count as not applied at boot.
 */
export class RegistryAppliedBy1764320000000 implements MigrationInterface {
  name = 'RegistryAppliedBy1764320000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE registry_version
        ADD COLUMN applied_by text CONSTRAINT registry_version_applied_by_ck CHECK (applied_by IN ('boot', 'cli'))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE registry_version DROP COLUMN applied_by`);
  }
}
