import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Clock } from '#libs/config';
import { DomainError } from '#libs/errors';
import { CitizensService, lockLiveCitizen } from '#libs/vault';
import { deadlineCalendar } from './calendar.js';
import { DeadlinesService } from './deadlines.service.js';

/** 256 bits, base64url: 43 characters. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest();

/**
 * The citizen's calendar feed behind a capability URL, for calendar apps
 * that cannot send a bearer token. The secret is shown once, when created;
 * only its SHA-256 is stored. A new secret revokes the old one.
 */
@Injectable()
export class CalendarFeedsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly deadlines: DeadlinesService,
    private readonly citizens: CitizensService,
    private readonly clock: Clock,
  ) {}

  /** A new secret for the citizen's feed, replacing any previous one. */
  async create(citizenId: string): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    await this.dataSource.transaction(async (em) => {
      await lockLiveCitizen(em, citizenId);
      await em.query(
        `INSERT INTO calendar_feed (citizen_id, token_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (citizen_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = EXCLUDED.created_at`,
        [citizenId, hashOf(secret), this.clock.now()],
      );
    });
    return secret;
  }

  /** The feed's URL stops working; revoking twice is harmless. */
  async revoke(citizenId: string): Promise<void> {
    await this.deleteAll(this.dataSource.manager, citizenId);
  }

  /** The RFC 5545 feed a secret opens, in its citizen's language; an unknown or revoked secret opens nothing. */
  async calendar(secret: string): Promise<string> {
    const rows: { citizen_id: string }[] = SECRET.test(secret)
      ? await this.dataSource.query(
          // Erasure deletes the row: a secret never outlives its citizen.
          `SELECT citizen_id FROM calendar_feed WHERE token_hash = $1`,
          [hashOf(secret)],
        )
      : [];
    if (rows.length === 0)
      throw new DomainError('calendar_feed_not_found', 'No calendar feed at this address.');
    const citizenId = rows[0].citizen_id;
    const [citizen, deadlines] = await Promise.all([
      this.citizens.get(citizenId),
      this.deadlines.forCitizen(citizenId),
    ]);
    return deadlineCalendar(
      deadlines.map(({ deadline }) => deadline),
      citizen.language,
    );
  }

  /** Erasure (and revocation): the feed goes. */
  async deleteAll(em: EntityManager, citizenId: string): Promise<void> {
    await em.query(`DELETE FROM calendar_feed WHERE citizen_id = $1`, [citizenId]);
  }
}
