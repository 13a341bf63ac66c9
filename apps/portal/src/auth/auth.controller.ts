import { Controller, Get, Logger, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { langOf } from '../pages/layout.js';
import { PageError } from '../pages/page-error.js';
import { PageErrorFilter } from '../pages/page-error.filter.js';
import { CsrfGuard } from '../session/csrf.guard.js';
import { type PortalRequest, Sessions } from '../session/sessions.js';
import { VaultClient } from '../vault/vault-client.js';
import { OidcClient } from './oidc-client.js';

/** A path of this portal to come back to: one slash, then letters, digits, dashes and slashes only. */
export function localPath(value: unknown, fallback = '/profil'): string {
  return typeof value === 'string' && /^\/(?!\/)[A-Za-z0-9/_-]*$/.test(value) ? value : fallback;
}

/** Signing in at the citizen issuer and out again; no password or token ever passes through the browser's URL bar but the code. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('auth')
export class AuthController {
  private readonly logger = new Logger(AuthController.name);

  constructor(
    private readonly oidc: OidcClient,
    private readonly sessions: Sessions,
    private readonly vault: VaultClient,
  ) {}

  @Get('connexion')
  async signIn(@Req() request: PortalRequest, @Res() response: FastifyReply, @Query('retour') back?: string) {
    const session = await this.sessions.ensure(request, response);
    const start = await this.oidc.start(langOf(request));
    await this.sessions.save(request, {
      ...session.data,
      signIn: {
        state: start.state,
        nonce: start.nonce,
        codeVerifier: start.codeVerifier,
        returnTo: localPath(back),
      },
    });
    response.header('cache-control', 'no-store');
    response.redirect(start.url, 303);
  }

  /** The issuer's answer: any check that fails (state, PKCE, the ID token), or a cancelled sign-in, signs nobody in. */
  @Get('callback')
  async callback(@Req() request: PortalRequest, @Res() response: FastifyReply) {
    const signIn = request.session?.data.signIn;
    if (!signIn || request.query.error) throw new PageError('sign-in-failed');
    const signedIn = await this.oidc
      .finish(new URL(request.originalUrl, this.oidc.redirectUri), signIn)
      .catch((error: Error & { code?: string }) => {
        if (error instanceof PageError) throw error;
        // The check that failed, by its name and code: never the code, a token or a claim.
        this.logger.warn({ error: error.name, code: error.code }, 'a sign-in did not check out');
        throw new PageError('sign-in-failed');
      });
    const { signIn: _done, ...rest } = request.session!.data;
    await this.sessions.renew(request, response, { ...rest, citizen: signedIn });
    // The citizen's language, as the vault knows it, unless they chose one here already (or the vault is busy).
    if (!request.langChosen) {
      const me = await this.vault
        .json<{ language: 'fr' | 'en' }>(signedIn.accessToken, 'GET', '/v1/me')
        .catch(() => null);
      if (me) this.sessions.setLanguage(response, me.language);
    }
    response.redirect(signIn.returnTo, 303);
  }

  @Post('deconnexion')
  async signOut(@Req() request: PortalRequest, @Res() response: FastifyReply) {
    const signedIn = !!request.session?.data.citizen;
    await this.sessions.end(request, response);
    const endSession = signedIn ? await this.oidc.endSessionUrl(langOf(request)) : null;
    response.redirect(endSession ?? '/?deconnecte=1', 303);
  }
}
