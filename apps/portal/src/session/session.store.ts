import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';

/** What a portal session holds; the citizen's tokens never leave the server. */
export interface SessionData {
  /** The synchronizer token every form of the session carries. */
  csrf: string;
  /** While signing in: what the callback checks (RFC 6749 state, OIDC nonce, PKCE verifier) and where to go after. */
  signIn?: { state: string; nonce: string; codeVerifier: string; returnTo: string };
  /** Once signed in. */
  citizen?: { accessToken: string; expiresAt: number; givenName: string | null };
  /** A message for the next page only (after a form's redirect). */
  flash?: { kind: 'success' | 'error'; text: { fr: string; en: string } };
}

const idHash = (token: string) => createHash('sha256').update(token).digest();
const sealKey = (token: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(token, 'base64url'), Buffer.alloc(0), 'une-fois portal session', 32));

function seal(token: string, data: SessionData): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(token), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(token: string, sealed: Buffer): SessionData | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey(token), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const text = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
    return JSON.parse(text.toString('utf8')) as SessionData;
  } catch {
    return null;
  }
}

/** A fresh session secret: 256 bits, the cookie's value. */
export const newSessionToken = () => randomBytes(32).toString('base64url');

/** How often, at most, a session's last activity is written: a page view within it writes nothing. */
const TOUCH_EVERY_SECONDS = 30;

/**
 * The sessions in the portal's schema. A session lives while it is used
 * within PORTAL_SESSION_IDLE_MINUTES of its last request, and no longer than
 * PORTAL_SESSION_MAX_MINUTES in all; the database's clock decides both.
 */
@Injectable()
export class SessionStore {
  private readonly idleSeconds: number;
  private readonly maxSeconds: number;

  constructor(
    private readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.idleSeconds = config.portal.sessionIdleMs / 1000;
    this.maxSeconds = config.portal.sessionMaxMs / 1000;
  }

  /** The session of a cookie's secret, if it is live; its last activity is moved to now. */
  async find(token: string): Promise<SessionData | null> {
    const rows: { sealed: Buffer }[] = await this.dataSource.query(
      `WITH live AS (
         SELECT id_hash, sealed, last_seen_at FROM portal.session
         WHERE id_hash = $1
           AND last_seen_at > now() - make_interval(secs => $2)
           AND created_at > now() - make_interval(secs => $3)),
       touched AS (
         UPDATE portal.session s SET last_seen_at = now() FROM live
         WHERE s.id_hash = live.id_hash AND live.last_seen_at < now() - make_interval(secs => $4))
       SELECT sealed FROM live`,
      [idHash(token), this.idleSeconds, this.maxSeconds, TOUCH_EVERY_SECONDS],
    );
    return rows.length === 1 ? open(token, rows[0].sealed) : null;
  }

  /** A new session under a new secret. */
  async create(token: string, data: SessionData): Promise<void> {
    await this.dataSource.query(`INSERT INTO portal.session (id_hash, sealed) VALUES ($1, $2)`, [
      idHash(token),
      seal(token, data),
    ]);
  }

  /**
   * New data for a session still live; whether it was. A session ended
   * meanwhile (signed out, idle, too old) stays ended: a page that loaded it
   * before does not bring it back by saving.
   */
  async update(token: string, data: SessionData): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `WITH updated AS (
         UPDATE portal.session SET sealed = $2, last_seen_at = now()
         WHERE id_hash = $1
           AND last_seen_at > now() - make_interval(secs => $3)
           AND created_at > now() - make_interval(secs => $4)
         RETURNING 1)
       SELECT 1 FROM updated`,
      [idHash(token), seal(token, data), this.idleSeconds, this.maxSeconds],
    );
    return rows.length === 1;
  }

  async delete(token: string): Promise<void> {
    await this.dataSource.query(`DELETE FROM portal.session WHERE id_hash = $1`, [idHash(token)]);
  }

  /** Removes sessions that ended (idle or too old); a few at a time, as new ones begin. */
  async purgeEnded(limit = 500): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM portal.session WHERE id_hash IN (
         SELECT id_hash FROM portal.session
         WHERE last_seen_at <= now() - make_interval(secs => $1) OR created_at <= now() - make_interval(secs => $2)
         LIMIT $3)`,
      [this.idleSeconds, this.maxSeconds, limit],
    );
  }
}
