import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { MasterKeyring } from '#libs/crypto';
import { CitizenKey } from './citizen-key.entity.js';
import { lockLiveCitizen } from './citizens.service.js';

export interface RotationResult {
  rotated: number;
  remainingOnOldVersions: number;
}

/** Per-citizen data keys: created on first write, unwrapped per use, re-wrapped on rotation, destroyed on erasure. */
@Injectable()
export class DataKeysService {
  private readonly logger = new Logger(DataKeysService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly keyring: MasterKeyring,
  ) {}

  /** The citizen's data key, or null when they have none (nothing written yet, or erased). */
  async find(em: EntityManager, citizenId: string): Promise<Buffer | null> {
    const row = await em.findOneBy(CitizenKey, { citizenId });
    return row ? this.unwrap(row) : null;
  }

  /**
   * The citizen's data key, created on their first value; never for an
   * erased citizen. The one place a write locks the citizen (lockLiveCitizen,
   * held until the caller commits), so an erasure cannot run between here
   * and the value's insert: every writer of a value gets its key here first.
   */
  async findOrCreate(em: EntityManager, citizenId: string): Promise<Buffer> {
    await lockLiveCitizen(em, citizenId);
    const existing = await this.find(em, citizenId);
    if (existing) return existing;
    const wrapped = this.keyring.wrap(this.keyring.newDataKey(), citizenId);
    await em
      .createQueryBuilder()
      .insert()
      .into(CitizenKey)
      .values({
        citizenId,
        masterKeyId: wrapped.masterKeyId,
        masterKeyVersion: wrapped.masterKeyVersion,
        wrappedKey: wrapped.wrapped,
        createdAt: new Date(),
      })
      .orIgnore()
      .execute();
    // A concurrent first write may have won the insert: read back whichever key is stored.
    const stored = await this.find(em, citizenId);
    if (!stored) throw new Error('Data key vanished after insert');
    return stored;
  }

  /** Crypto-shredding: without this row, no ciphertext of the citizen can be opened again. True if there was one. */
  async destroy(em: EntityManager, citizenId: string): Promise<boolean> {
    const result = await em.delete(CitizenKey, { citizenId });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Re-wraps every data key not under the current master key, in small
   * transactions that skip rows another rotation holds, so the vault keeps
   * serving (a reader sees either the old or the new wrapping, both valid).
   */
  async rotateAll(batchSize = 500): Promise<RotationResult> {
    const current = this.keyring.current;
    let rotated = 0;
    for (;;) {
      const count = await this.dataSource.transaction(async (em) => {
        const rows: CitizenKey[] = await em
          .createQueryBuilder(CitizenKey, 'k')
          .where('NOT (k.master_key_id = :id AND k.master_key_version = :version)', current)
          .orderBy('k.citizen_id')
          .limit(batchSize)
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getMany();
        for (const row of rows) {
          const wrapped = this.keyring.wrap(this.unwrap(row), row.citizenId);
          await em.update(
            CitizenKey,
            { citizenId: row.citizenId },
            {
              masterKeyId: wrapped.masterKeyId,
              masterKeyVersion: wrapped.masterKeyVersion,
              wrappedKey: wrapped.wrapped,
              rotatedAt: new Date(),
            },
          );
        }
        return rows.length;
      });
      rotated += count;
      if (count === 0) break;
      this.logger.log(`re-wrapped ${rotated} data keys under ${current.id} v${current.version}`);
    }
    const [{ remaining }]: { remaining: string }[] = await this.dataSource.query(
      `SELECT count(*) AS remaining FROM citizen_key WHERE NOT (master_key_id = $1 AND master_key_version = $2)`,
      [current.id, current.version],
    );
    return { rotated, remainingOnOldVersions: Number(remaining) };
  }

  /** Opens a stored wrapping (a row read by a caller's own query). */
  unwrap(row: Pick<CitizenKey, 'citizenId' | 'masterKeyId' | 'masterKeyVersion' | 'wrappedKey'>): Buffer {
    return this.keyring.unwrap(
      { masterKeyId: row.masterKeyId, masterKeyVersion: row.masterKeyVersion, wrapped: row.wrappedKey },
      row.citizenId,
    );
  }
}
