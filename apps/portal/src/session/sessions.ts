import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FastifyRequest, FastifyReply } from 'fastify';
import { AppConfig } from '#libs/config';
import { PageError } from '../pages/page-error.js';
import { newSessionToken, type SessionData, SessionStore } from './session.store.js';

/** A request as the portal's pages see it: its session (or none), and its language. */
export interface PortalRequest extends FastifyRequest<{ Querystring: Record<string, string | undefined> }> {
  session?: { token: string; data: SessionData };
  lang?: 'fr' | 'en';
  /** Whether the citizen chose a language here (its cookie came with the request). */
  langChosen?: boolean;
}

const LANG_COOKIE = 'portal_lang';

function cookies(request: FastifyRequest): Map<string, string> {
  const found = new Map<string, string>();
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) found.set(part.slice(0, index).trim(), part.slice(index + 1).trim());
  }
  return found;
}

/**
 * The portal's sessions: the cookie holds a random secret and nothing else
 * (HttpOnly, SameSite=Lax, Secure and `__Host-` outside development); the
 * session lives server-side (SessionStore). A session is given a new secret
 * when the citizen signs in, and is deleted when they sign out.
 */
@Injectable()
export class Sessions {
  private readonly cookieName: string;
  private readonly secure: boolean;

  constructor(
    private readonly store: SessionStore,
    config: AppConfig,
  ) {
    // Served over https (production always is): the cookie never travels in clear, under the __Host- prefix.
    this.secure = config.portal.url.startsWith('https://');
    this.cookieName = this.secure ? '__Host-portal_session' : 'portal_session';
  }

  /** Loads the request's session and language before any route runs (a hook of the portal's server: portalHttp). */
  async load(request: PortalRequest): Promise<void> {
    const jar = cookies(request);
    const token = jar.get(this.cookieName);
    if (token && /^[A-Za-z0-9_-]{43}$/.test(token)) {
      const data = await this.store.find(token);
      if (data) request.session = { token, data };
    }
    const lang = jar.get(LANG_COOKIE);
    request.lang = lang === 'en' ? 'en' : 'fr';
    request.langChosen = lang === 'en' || lang === 'fr';
  }

  /** The request's session, begun if it has none (its first form, or signing in). */
  async ensure(
    request: PortalRequest,
    response: FastifyReply,
  ): Promise<{ token: string; data: SessionData }> {
    if (!request.session) {
      await this.store.purgeEnded();
      request.session = { token: newSessionToken(), data: { csrf: randomBytes(32).toString('base64url') } };
      await this.store.create(request.session.token, request.session.data);
      this.setCookie(response, request.session.token);
    }
    return request.session;
  }

  /** New data for the request's session; one that ended meanwhile sends the browser to sign in. */
  async save(request: PortalRequest, data: SessionData): Promise<void> {
    if (!request.session) throw new Error('Sessions.save without a session');
    request.session.data = data;
    if (!(await this.store.update(request.session.token, data))) throw new PageError('sign-in');
  }

  /** Sign-in: the same data under a new secret (the old one, seen before sign-in, opens nothing after it). */
  async renew(request: PortalRequest, response: FastifyReply, data: SessionData): Promise<void> {
    if (request.session) await this.store.delete(request.session.token);
    request.session = {
      token: newSessionToken(),
      data: { ...data, csrf: randomBytes(32).toString('base64url') },
    };
    await this.store.create(request.session.token, request.session.data);
    this.setCookie(response, request.session.token);
  }

  async end(request: PortalRequest, response: FastifyReply): Promise<void> {
    if (request.session) await this.store.delete(request.session.token);
    request.session = undefined;
    response.header(
      'set-cookie',
      `${this.cookieName}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0${this.secure ? '; Secure' : ''}`,
    );
  }

  setLanguage(response: FastifyReply, lang: 'fr' | 'en'): void {
    response.header(
      'set-cookie',
      `${LANG_COOKIE}=${lang}; Path=/; SameSite=Lax; Max-Age=31536000${this.secure ? '; Secure' : ''}`,
    );
  }

  private setCookie(response: FastifyReply, token: string): void {
    response.header(
      'set-cookie',
      `${this.cookieName}=${token}; Path=/; HttpOnly; SameSite=Lax${this.secure ? '; Secure' : ''}`,
    );
  }
}
