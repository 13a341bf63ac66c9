import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DomainError } from '#libs/errors';
import { Citizen, type Channels, type QuietHours } from './citizen.entity.js';

export interface Preferences {
  language: 'fr' | 'en';
  channels: Channels;
  quietHours: QuietHours;
}

/**
 * Holds the citizen's row against erasure until the caller's transaction ends,
 * and refuses an erased citizen: nothing written after an erasure can bring
 * back a data key, a value or an identifier.
 */
export async function lockLiveCitizen(em: EntityManager, citizenId: string): Promise<void> {
  const rows: unknown[] = await em.query(
    `SELECT 1 FROM citizen WHERE id = $1 AND erased_at IS NULL FOR SHARE`,
    [citizenId],
  );
  if (rows.length === 0)
    throw new DomainError('citizen_not_found', 'No such citizen (or their data was erased).');
}

@Injectable()
export class CitizensService {
  constructor(private readonly dataSource: DataSource) {}

  /** The citizen behind an issuer's subject; their first call creates the profile. */
  async resolve(issuer: string, subject: string): Promise<Citizen> {
    const repository = this.dataSource.getRepository(Citizen);
    const existing = await repository.findOneBy({ issuer, subject });
    if (existing) return existing;
    await this.dataSource.query(
      `INSERT INTO citizen (id, issuer, subject) VALUES ($1, $2, $3)
       ON CONFLICT (issuer, subject) WHERE subject IS NOT NULL DO NOTHING`,
      [randomUUID(), issuer, subject],
    );
    return repository.findOneByOrFail({ issuer, subject });
  }

  async get(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<Citizen> {
    return em.findOneByOrFail(Citizen, { id: citizenId });
  }

  preferences(citizen: Citizen): Preferences {
    return { language: citizen.language, channels: citizen.channels, quietHours: citizen.quietHours };
  }

  async updatePreferences(citizenId: string, preferences: Preferences): Promise<Preferences> {
    await this.dataSource.getRepository(Citizen).update(
      { id: citizenId },
      {
        language: preferences.language,
        channels: preferences.channels,
        quietHours: preferences.quietHours,
      },
    );
    return this.preferences(await this.get(citizenId));
  }

  /**
   * Detaches the profile from the issuer's subject and resets what it held;
   * the row stays because the access log and consent records point at it.
   */
  async markErased(em: EntityManager, citizenId: string): Promise<void> {
    // Waits for writers holding the row (lockLiveCitizen), and makes later ones fail.
    await em.query(`SELECT 1 FROM citizen WHERE id = $1 FOR UPDATE`, [citizenId]);
    await em.query(
      `UPDATE citizen SET subject = NULL, erased_at = now(), language = DEFAULT, channels = DEFAULT,
              quiet_hours = DEFAULT
       WHERE id = $1`,
      [citizenId],
    );
  }
}
