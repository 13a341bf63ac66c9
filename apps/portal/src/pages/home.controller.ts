import { Controller, Get, Header, Query, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { GOV_CSS, html, HTML_TYPE } from '#libs/web';
import { localPath } from '../auth/auth.controller.js';
import { type PortalRequest, Sessions } from '../session/sessions.js';
import { PORTAL_CSS, portalPage, textOf } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';

@ApiExcludeController()
@UseFilters(PageErrorFilter)
@Controller()
export class HomeController {
  constructor(private readonly sessions: Sessions) {}

  /** Signed in: the profile. Signed out: what the portal is, and the way in. */
  @Get()
  home(@Req() request: PortalRequest, @Res() response: FastifyReply) {
    if (request.session?.data.citizen) return response.redirect('/profil', 303);
    const t = textOf(request);
    response.header('cache-control', 'no-store');
    response.type(HTML_TYPE).send(
      portalPage(request, {
        title: t.home.title,
        main: html`${request.query.deconnecte || request.query.efface ? html`<p class="notice success" role="status">${request.query.efface ? t.data.erased : t.home.signedOut}</p>` : ''}
          <p>${t.home.intro}</p>
          <p><a class="button" href="/auth/connexion">${t.signIn}</a></p>`,
      }),
    );
  }

  /** The language switch: a cookie (not personal), then back to the page it was clicked on. */
  @Get('langue')
  language(@Query('lang') lang: string, @Query('retour') back: string, @Res() response: FastifyReply) {
    this.sessions.setLanguage(response, lang === 'en' ? 'en' : 'fr');
    response.redirect(localPath(back, '/'), 303);
  }

  @Get('assets/gov.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  govCss(): string {
    return GOV_CSS;
  }

  @Get('assets/portal.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  portalCss(): string {
    return PORTAL_CSS;
  }
}
