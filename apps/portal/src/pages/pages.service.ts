import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HTML_TYPE, type SafeHtml } from '#libs/web';
import type { SessionData } from '../session/session.store.js';
import { type PortalRequest, Sessions } from '../session/sessions.js';
import { type PageName, portalPage } from './layout.js';

/** Sends pages, and carries a form's outcome to the page it redirects to (post, redirect, get). */
@Injectable()
export class Pages {
  constructor(private readonly sessions: Sessions) {}

  /** Renders a page; a message left by the last form shows on it, once. */
  async send(
    request: PortalRequest,
    response: FastifyReply,
    page: { title: string; main: SafeHtml; active?: PageName; status?: number },
  ): Promise<void> {
    const text = portalPage(request, page);
    if (request.session?.data.flash) {
      const { flash: _shown, ...rest } = request.session.data;
      await this.sessions.save(request, rest);
    }
    response
      .status(page.status ?? 200)
      .header('cache-control', 'no-store')
      .type(HTML_TYPE)
      .send(text);
  }

  /** After a form: a message for the next page, then a redirect there. */
  async redirect(
    request: PortalRequest,
    response: FastifyReply,
    path: string,
    flash?: SessionData['flash'],
  ): Promise<void> {
    if (flash && request.session) await this.sessions.save(request, { ...request.session.data, flash });
    response.redirect(path, 303);
  }
}
