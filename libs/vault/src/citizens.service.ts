import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Citizen, type Channels, type QuietHours } from './citizen.entity.js';

export interface Preferences {
  language: 'fr' | 'en';
  channels: Channels;
  quietHours: QuietHours;
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
      { language: preferences.language, channels: preferences.channels, quietHours: preferences.quietHours },
    );
    return this.preferences(await this.get(citizenId));
  }

  /**
   * Detaches the profile from the issuer's subject and resets what it held;
   * the row stays because the access log and consent records point at it.
   */
  async markErased(em: EntityManager, citizenId: string): Promise<void> {
    await em.query(
      `UPDATE citizen SET subject = NULL, erased_at = now(), language = DEFAULT, channels = DEFAULT,
              quiet_hours = DEFAULT
       WHERE id = $1`,
      [citizenId],
    );
  }
}
