import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { PageError } from '../pages/page-error.js';
import type { PortalRequest } from './sessions.js';

/**
 * Every form post carries its session's synchronizer token (`_csrf`), and
 * none comes from another site: without both, nothing is done (403). The
 * session cookie is SameSite=Lax besides, so a cross-site post arrives
 * without a session at all — and a post without a session is sent to sign
 * in, which does nothing either.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PortalRequest>();
    if (request.method !== 'POST') return true;
    if (request.headers['sec-fetch-site'] === 'cross-site') throw new PageError('forbidden');
    // A session that ended (idle, too old, signed out) is not a forgery: sign in again.
    const expected = request.session?.data.csrf;
    if (!expected) throw new PageError('sign-in');
    const given = (request.body as Record<string, unknown> | undefined)?._csrf;
    const givenBytes = Buffer.from(typeof given === 'string' ? given : '');
    const expectedBytes = Buffer.from(expected);
    if (givenBytes.length !== expectedBytes.length || !timingSafeEqual(givenBytes, expectedBytes))
      throw new PageError('forbidden');
    return true;
  }
}
