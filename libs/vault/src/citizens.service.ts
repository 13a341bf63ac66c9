import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { preparedQuery } from '#libs/database';
import { DomainError } from '#libs/errors';
import { Citizen, type Channels, type QuietHours } from './citizen.entity.js';

const CITIZEN_BY_SUBJECT = `SELECT id, issuer, subject, language, channels, quiet_hours, created_at, erased_at
    FROM citizen WHERE issuer = $1 AND subject = $2`;

interface CitizenRow {
  id: string;
  issuer: string;
  subject: string | null;
  language: 'fr' | 'en';
  channels: Channels;
  quiet_hours: QuietHours;
  created_at: Date;
  erased_at: Date | null;
}

export interface Preferences {
  language: 'fr' | 'en';
  channels: Channels;
  quietHours: QuietHours;
}

/** A live citizen, locked by lockLiveCitizenOf, with what planning their reminders needs. */
export interface LockedCitizen {
  id: string;
  quietHours: QuietHours;
}

/**
 * Holds the citizen's row against erasure until the caller's transaction ends,
 * and refuses an erased citizen: nothing written after an erasure can bring
 * back a data key, a value or an identifier. The same lock mode as the
 * erasure's (lockForErasure), not FOR SHARE: share lockers overlapping one
 * another would hold the row forever and starve a waiting erasure, while
 * exclusive ones queue in turn. Writes to one citizen serialise; reads and
 * inserts that only reference the citizen are not held up.
 */
export async function lockLiveCitizen(em: EntityManager, citizenId: string): Promise<void> {
  await lockLiveCitizenOf(em, '$1', [citizenId]);
}

/**
 * The statement of lockLiveCitizenOf, for a caller that makes it the first
 * item of a WITH of its own: the live citizen's id and quiet_hours, locked,
 * or no row.
 */
export function lockLiveCitizenSql(citizenIdQuery: string): string {
  return `SELECT id, quiet_hours FROM citizen WHERE id = (${citizenIdQuery}) AND erased_at IS NULL FOR NO KEY UPDATE`;
}

/**
 * lockLiveCitizen for the citizen a scalar query names (such as
 * citizenOfPpidSql, with its parameters), in one statement that also answers
 * the citizen's quiet hours. A query that names no one is refused like an
 * erased citizen.
 */
export async function lockLiveCitizenOf(
  em: EntityManager,
  citizenIdQuery: string,
  parameters: unknown[],
): Promise<LockedCitizen> {
  return lockedCitizen(await em.query(lockLiveCitizenSql(citizenIdQuery), parameters));
}

/** The citizen in the rows of a statement that began with lockLiveCitizenSql; none is refused as lockLiveCitizen does. */
export function lockedCitizen(rows: { id: string; quiet_hours: QuietHours }[]): LockedCitizen {
  const [row] = rows;
  if (!row) throw new DomainError('citizen_not_found', 'No such citizen (or their data was erased).');
  return { id: row.id, quietHours: row.quiet_hours };
}

@Injectable()
export class CitizensService {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The citizen behind an issuer's subject; their first call creates the
   * profile, and `onCreate` runs in the transaction that creates it (so a
   * profile never exists without what it writes). Of two first calls at
   * once, one creates; the other waits for it and finds the profile.
   */
  async resolve(
    issuer: string,
    subject: string,
    onCreate?: (em: EntityManager, citizenId: string) => Promise<unknown>,
  ): Promise<Citizen> {
    const existing = await this.findBySubject(issuer, subject);
    if (existing) return existing;
    await this.dataSource.transaction(async (em) => {
      const created: { id: string }[] = await em.query(
        `WITH created AS (
           INSERT INTO citizen (id, issuer, subject) VALUES ($1, $2, $3)
           ON CONFLICT (issuer, subject) WHERE subject IS NOT NULL DO NOTHING
           RETURNING id)
         SELECT id FROM created`,
        [randomUUID(), issuer, subject],
      );
      if (created.length === 1 && onCreate) await onCreate(em, created[0].id);
    });
    const created = await this.findBySubject(issuer, subject);
    if (!created) throw new Error(`the citizen of ${issuer} just created is not there`);
    return created;
  }

  /** The citizen the issuer knows by `subject` (a named statement: every citizen request starts with it). */
  private async findBySubject(issuer: string, subject: string): Promise<Citizen | null> {
    const [row] = await preparedQuery<CitizenRow>(this.dataSource, 'citizen-by-subject', CITIZEN_BY_SUBJECT, [
      issuer,
      subject,
    ]);
    return row
      ? Object.assign(new Citizen(), {
          id: row.id,
          issuer: row.issuer,
          subject: row.subject,
          language: row.language,
          channels: row.channels,
          quietHours: row.quiet_hours,
          createdAt: row.created_at,
          erasedAt: row.erased_at,
        })
      : null;
  }

  async get(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<Citizen> {
    return em.findOneByOrFail(Citizen, { id: citizenId });
  }

  preferences(citizen: Citizen): Preferences {
    return { language: citizen.language, channels: citizen.channels, quietHours: citizen.quietHours };
  }

  async updatePreferences(
    citizenId: string,
    preferences: Preferences,
    em: EntityManager = this.dataSource.manager,
  ): Promise<Preferences> {
    // Not on an erased profile: a request in flight when the citizen erased it does not bring preferences back.
    const result = await em.getRepository(Citizen).update(
      { id: citizenId, erasedAt: IsNull() },
      {
        language: preferences.language,
        channels: preferences.channels,
        quietHours: preferences.quietHours,
      },
    );
    if (result.affected === 0)
      throw new DomainError('citizen_not_found', 'No such citizen (or their data was erased).');
    return this.preferences(await this.get(citizenId, em));
  }

  /**
   * The erasure's first step: holds the citizen's row until the erasure
   * commits. Writers hold it too (lockLiveCitizen), so a write in flight
   * commits before the erasure begins (and is erased with the rest), and a
   * later one waits and then finds the citizen erased. FOR NO KEY UPDATE, not
   * FOR UPDATE: inserts that merely reference the citizen (an access-log
   * entry) are not held up, and cannot deadlock with the erasure.
   * False when there is no such row (a restored backup older than the citizen).
   */
  async lockForErasure(em: EntityManager, citizenId: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT 1 FROM citizen WHERE id = $1 FOR NO KEY UPDATE`, [
      citizenId,
    ]);
    return rows.length > 0;
  }

  /**
   * Detaches the profile from the issuer's subject and resets what it held;
   * the row stays because the access log and consent records point at it.
   * Called after lockForErasure, with the erasure's registered time.
   */
  async markErased(em: EntityManager, citizenId: string, at: Date): Promise<void> {
    await em.query(
      `UPDATE citizen SET subject = NULL, erased_at = coalesce(erased_at, $2), language = DEFAULT,
              channels = DEFAULT, quiet_hours = DEFAULT
       WHERE id = $1`,
      [citizenId, at],
    );
  }
}
