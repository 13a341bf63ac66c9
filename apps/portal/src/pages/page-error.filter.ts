import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isDatabaseUnavailable } from '#libs/database';
import { DomainError, loggableError } from '#libs/errors';
import { html, HTML_TYPE } from '#libs/web';
import type { PortalRequest } from '../session/sessions.js';
import { VaultProblem } from '../vault/vault-client.js';
import { langOf, portalPage, textOf } from './layout.js';
import { PAGE_ERROR_STATUS, PageError, type PageErrorKind } from './page-error.js';

/** Seconds a citizen is asked to wait when the vault, the issuer or the database cannot serve. */
const RETRY_AFTER_SECONDS = 5;

/** Where a page that needs a signed-in citizen sends a browser that has none: sign in, then back here. */
export function signInPath(request: PortalRequest): string {
  const path = request.method === 'GET' ? request.originalUrl.split('?')[0] : '/profil';
  return `/auth/connexion?retour=${encodeURIComponent(path)}`;
}

/**
 * The portal's pages fail as pages: an HTML page in the citizen's language
 * with the right status (403 for a forged form, 404, 503 with Retry-After
 * when the vault, the issuer or the session store cannot serve, 500 with a
 * correlation id found in the log), or a redirect to sign in. Never a
 * token, a value or a cause in the page.
 */
@Catch()
export class PageErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(PageErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<PortalRequest>();
    const response = host.switchToHttp().getResponse<FastifyReply>();
    if (response.sent) return;
    const kind = kindOf(exception);
    if (kind === 'sign-in') {
      response.redirect(signInPath(request), 303);
      return;
    }
    const t = textOf(request);
    let status: number;
    let message: string;
    if (exception instanceof VaultProblem && exception.status !== 404) {
      // The vault's refusal as it words it (a request answered already, an attribute not declarable).
      status = exception.status;
      message = exception.titles[langOf(request)] || t.errors['bad-request'];
    } else if (kind) {
      status = PAGE_ERROR_STATUS[kind];
      message = t.errors[kind];
    } else {
      status = 500;
      message = `${t.errors.title}. (${String(request.id ?? '')})`;
      this.logger.error(
        { err: loggableError(exception), correlationId: String(request.id ?? '') },
        'page failed',
      );
    }
    if (status === 503) response.header('Retry-After', String(RETRY_AFTER_SECONDS));
    const next =
      kind === 'sign-in-failed'
        ? html`<a href="/auth/connexion">${t.signIn}</a>`
        : html`<a href="${request.session?.data.citizen ? '/profil' : '/'}">${t.errors.back}</a>`;
    response
      .status(status)
      .header('cache-control', 'no-store')
      .type(HTML_TYPE)
      .send(
        portalPage(request, {
          title: t.errors.title,
          withFlash: false,
          main: html`<p class="notice error" role="alert">${message}</p>
            <p>${next}</p>`,
        }),
      );
  }
}

function kindOf(exception: unknown): PageErrorKind | null {
  if (exception instanceof PageError) return exception.kind;
  if (isDatabaseUnavailable(exception)) return 'unavailable';
  if (exception instanceof VaultProblem) return exception.status === 404 ? 'not-found' : 'bad-request';
  if (exception instanceof NotFoundException) return 'not-found';
  if (exception instanceof DomainError)
    return exception.code === 'route_not_found' ? 'not-found' : 'bad-request';
  if (exception instanceof HttpException && exception.getStatus() < 500) return 'bad-request';
  return null;
}
