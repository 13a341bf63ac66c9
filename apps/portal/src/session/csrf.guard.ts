import { timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { PageError } from '../pages/page-error.js';
import type { PortalRequest } from './sessions.js';

/**
 * Every form post carries its session's synchronizer token (`_csrf`), and
 * none comes from another site: without both, nothing is done (403). The
 * session cookie is SameSite=Lax besides, so a cross-site post arrives
 * without a session at all.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PortalRequest>();
    if (request.method !== 'POST') return true;
    const expected = request.session?.data.csrf;
    const given = (request.body as Record<string, unknown> | undefined)?._csrf;
    const fromElsewhere = request.headers['sec-fetch-site'] === 'cross-site';
    if (
      fromElsewhere ||
      !expected ||
      typeof given !== 'string' ||
      given.length !== expected.length ||
      !timingSafeEqual(Buffer.from(given), Buffer.from(expected))
    )
      throw new PageError('forbidden');
    return true;
  }
}
