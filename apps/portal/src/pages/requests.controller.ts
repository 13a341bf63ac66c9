import { Body, Controller, Get, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { ConsentRequestView } from '#libs/consent';
import { html } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import type { PortalRequest } from '../session/sessions.js';
import { CatalogueNames } from '../vault/catalogue-names.js';
import { VaultClient } from '../vault/vault-client.js';
import { CitizenToken, FormDto, vaultId } from './citizen.js';
import { csrfField, langOf, textOf, when } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';
import { both } from './text.js';

/**
 * Demandes: a service's request to reuse data, in plain words — who asks,
 * which data, why, for how long — to accept or decline. A consent
 * request's approval link (approvalUrl) leads to its page here.
 */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('demandes')
export class RequestsController {
  constructor(
    private readonly vault: VaultClient,
    private readonly names: CatalogueNames,
    private readonly pages: Pages,
  ) {}

  @Get()
  async list(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    const t = textOf(request);
    const lang = langOf(request);
    const pending = await this.vault.json<ConsentRequestView[]>(token, 'GET', '/v1/me/consent-requests');
    await this.pages.send(request, response, {
      title: t.pages.requests,
      active: 'requests',
      main: html`<p>${t.requests.intro}</p>
        ${
          pending.length === 0
            ? html`<p>${t.requests.none}</p>`
            : html`<ul>
                ${pending.map(
                  (r) =>
                    html`<li>
                      <a href="/demandes/${r.id}"
                        >${t.requests.asks(r.serviceName?.[lang] ?? r.service, r.organisationName?.[lang] ?? r.organisation)}</a
                      >
                      — ${r.purposeLabel?.[lang] ?? r.purpose}
                    </li>`,
                )}
              </ul>`
        }`,
    });
  }

  @Get(':id')
  async show(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Param('id') id: string,
  ) {
    const t = textOf(request);
    const lang = langOf(request);
    const [r, names] = await Promise.all([
      this.vault.json<ConsentRequestView>(token, 'GET', `/v1/me/consent-requests/${vaultId(id)}`),
      this.names.in(lang),
    ]);
    const service = r.serviceName?.[lang] ?? r.service;
    const organisation = r.organisationName?.[lang] ?? r.organisation;
    const duration =
      r.mode === 'once'
        ? t.requests.once
        : r.consentExpiresAt
          ? t.requests.ongoingUntil(when(lang, r.consentExpiresAt, false))
          : t.requests.ongoing;
    const category = names.legalCategory(r.purpose);
    await this.pages.send(request, response, {
      title: t.requests.asks(service, organisation),
      active: 'requests',
      main: html`<div class="card">
          <h2>${t.requests.which}</h2>
          <ul>
            ${r.attributes.map((a) => html`<li>${a.label?.[lang] ?? names.attribute(a.code)}</li>`)}
          </ul>
          <h2>${t.requests.why}</h2>
          <p>${r.purposeLabel?.[lang] ?? names.purpose(r.purpose)}</p>
          ${category ? html`<p><strong>${t.requests.category}${t.colon}</strong> ${category}</p>` : ''}
          <h2>${t.requests.howLong}</h2>
          <p>${duration}</p>
        </div>
        ${
          r.status === 'pending'
            ? html`<p>${t.requests.answerBy(when(lang, r.expiresAt))}</p>
                <form method="post" action="/demandes/${r.id}/accepter" class="inline">
                  ${csrfField(request)}<button type="submit" id="approve">${t.requests.approve}</button>
                </form>
                <form method="post" action="/demandes/${r.id}/refuser" class="inline">
                  ${csrfField(request)}<button type="submit" class="secondary" id="deny">
                    ${t.requests.deny}
                  </button>
                </form>`
            : html`<p class="notice">${t.requests.decided(t.requests.status[r.status] ?? r.status)}</p>`
        }`,
    });
  }

  @Post(':id/accepter')
  async approve(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Param('id') id: string,
    @Body() _form: FormDto,
  ) {
    await this.vault.json(token, 'POST', `/v1/me/consent-requests/${vaultId(id)}/approve`);
    await this.pages.redirect(request, response, '/consentements', {
      kind: 'success',
      text: both((t) => t.requests.approved),
    });
  }

  @Post(':id/refuser')
  async deny(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Param('id') id: string,
    @Body() _form: FormDto,
  ) {
    await this.vault.json(token, 'POST', `/v1/me/consent-requests/${vaultId(id)}/deny`);
    await this.pages.redirect(request, response, '/demandes', {
      kind: 'success',
      text: both((t) => t.requests.denied),
    });
  }
}
