import { Body, Controller, Get, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Label } from '#libs/catalogue';
import { html } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import type { PortalRequest } from '../session/sessions.js';
import { VaultClient } from '../vault/vault-client.js';
import { CitizenToken, FormDto, vaultId } from './citizen.js';
import { csrfField, langOf, textOf, when } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';
import { both } from './text.js';

interface Deadline {
  id: string;
  kindLabel: Label | null;
  title: Label;
  organisation: string;
  organisationName: Label | null;
  dueAt: string;
  status: string;
  actionUrl: string | null;
  reminders: { id: string; offsetDays: number; sendAt: string; status: string; sentAt: string | null }[];
}

interface Notification {
  id: string;
  subject: string;
  body: string;
  actionUrl: string | null;
  createdAt: string;
  readAt: string | null;
}

/** An action link of a deadline is the service's; only http(s) addresses become links. */
const linkable = (url: string | null) => (url && /^https?:\/\//i.test(url) ? url : null);

/** Mes échéances: deadlines and their reminders, the calendar (download or subscription link), the portal notifications. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller()
export class DeadlinesController {
  constructor(
    private readonly vault: VaultClient,
    private readonly pages: Pages,
  ) {}

  @Get('echeances')
  async show(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    await this.render(request, response, token);
  }

  /** The deadlines as an iCalendar file, as the vault writes it. */
  @Get('echeances.ics')
  async calendar(@Res() response: FastifyReply, @CitizenToken() token: string) {
    const answer = await this.vault.raw(token, 'GET', '/v1/me/deadlines.ics');
    response
      .status(200)
      .header('cache-control', 'private, no-store')
      .header('content-disposition', 'attachment; filename="echeances.ics"')
      .type('text/calendar; charset=utf-8')
      .send(answer.body);
  }

  /** A subscription link: shown on this answer only, never stored by the portal nor put in a URL of its own. */
  @Post('echeances/abonnement')
  async subscribe(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Body() _form: FormDto,
  ) {
    const { url } = await this.vault.json<{ url: string }>(token, 'POST', '/v1/me/calendar-feed');
    await this.render(request, response, token, url);
  }

  @Post('echeances/abonnement/desactiver')
  async unsubscribe(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Body() _form: FormDto,
  ) {
    await this.vault.json(token, 'DELETE', '/v1/me/calendar-feed');
    await this.pages.redirect(request, response, '/echeances', {
      kind: 'success',
      text: both((t) => t.deadlines.feedStopped),
    });
  }

  @Post('avis/:id/lu')
  async markRead(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Param('id') id: string,
    @Body() _form: FormDto,
  ) {
    await this.vault.json(token, 'POST', `/v1/me/notifications/${vaultId(id)}/read`);
    await this.pages.redirect(request, response, '/echeances#avis');
  }

  private async render(request: PortalRequest, response: FastifyReply, token: string, feedUrl?: string) {
    const t = textOf(request);
    const lang = langOf(request);
    const [{ deadlines }, { notifications }] = await Promise.all([
      this.vault.json<{ deadlines: Deadline[] }>(token, 'GET', '/v1/me/deadlines'),
      this.vault.json<{ notifications: Notification[] }>(token, 'GET', '/v1/me/notifications?limit=20'),
    ]);
    const cards = deadlines.map(
      (d) =>
        html`<article class="card" data-deadline="${d.id}">
          <h3>${d.title[lang]}</h3>
          <p>
            <strong>${t.deadlines.due}${t.colon}</strong> ${when(lang, d.dueAt)} ·
            <strong>${t.deadlines.from}${t.colon}</strong> ${d.organisationName?.[lang] ?? d.organisation} ·
            <strong>${t.deadlines.status}${t.colon}</strong> ${t.deadlines.statuses[d.status] ?? d.status}
          </p>
          ${d.kindLabel ? html`<p>${d.kindLabel[lang]}</p>` : ''}
          ${
            d.reminders.length > 0
              ? html`<p><strong>${t.deadlines.reminders}${t.colon}</strong></p>
                  <ul>
                    ${d.reminders.map((r) => html`<li>${t.deadlines.daysBefore(r.offsetDays)} — ${when(lang, r.sentAt ?? r.sendAt)} — ${t.deadlines.reminderStatuses[r.status] ?? r.status}</li>`)}
                  </ul>`
              : ''
          }
          ${
            linkable(d.actionUrl)
              ? html`<p>
                  <a href="${linkable(d.actionUrl)!}" rel="noopener noreferrer"
                    >${t.deadlines.act}<span class="visually-hidden">${t.colon} ${d.title[lang]}</span></a
                  >
                </p>`
              : ''
          }
        </article>`,
    );
    const notices = notifications.map(
      (n) =>
        html`<article class="card">
          <h3>${n.subject}${n.readAt ? '' : html` <span class="badge">${t.deadlines.unread}</span>`}</h3>
          <p>${when(lang, n.createdAt)}</p>
          <p class="pre-line">${n.body}</p>
          ${
            n.readAt
              ? ''
              : html`<form method="post" action="/avis/${n.id}/lu">
                  ${csrfField(request)}<button type="submit" class="secondary">
                    ${t.deadlines.markRead}<span class="visually-hidden">${t.colon} ${n.subject}</span>
                  </button>
                </form>`
          }
        </article>`,
    );
    await this.pages.send(request, response, {
      title: t.pages.deadlines,
      active: 'deadlines',
      main: html`<p>${t.deadlines.intro}</p>
        ${cards.length === 0 ? html`<p>${t.deadlines.none}</p>` : cards}
        <h2>${t.deadlines.calendar}</h2>
        <p>${t.deadlines.calendarIntro}</p>
        <p><a href="/echeances.ics" download>${t.deadlines.download}</a></p>
        ${feedUrl ? html`<p class="notice success" role="status"><strong>${t.deadlines.feedUrl}${t.colon}</strong><br /><span class="feed-url" id="feed-url">${feedUrl}</span></p>` : ''}
        <p>${t.deadlines.subscribeWarning}</p>
        <form method="post" action="/echeances/abonnement" class="inline">
          ${csrfField(request)}<button type="submit">${t.deadlines.subscribe}</button>
        </form>
        <form method="post" action="/echeances/abonnement/desactiver" class="inline">
          ${csrfField(request)}<button type="submit" class="secondary">${t.deadlines.stopFeed}</button>
        </form>
        <h2 id="avis">${t.deadlines.notifications}</h2>
        ${notices.length === 0 ? html`<p>${t.deadlines.noNotifications}</p>` : notices}`,
    });
  }
}
