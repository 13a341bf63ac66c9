import { Body, Controller, Get, Param, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { ConsentView } from '#libs/consent';
import { html } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import type { PortalRequest } from '../session/sessions.js';
import { CatalogueNames } from '../vault/catalogue-names.js';
import { VaultClient } from '../vault/vault-client.js';
import { CitizenToken, FormDto, vaultId } from './citizen.js';
import { csrfField, langOf, listTable, textOf, when } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';
import { both } from './text.js';

/** Mes consentements: who may use what, for which purpose, until when; the signed receipt; revoke. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('consentements')
export class ConsentsController {
  constructor(
    private readonly vault: VaultClient,
    private readonly names: CatalogueNames,
    private readonly pages: Pages,
  ) {}

  @Get()
  async list(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    const t = textOf(request);
    const lang = langOf(request);
    const [consents, names] = await Promise.all([
      this.vault.json<ConsentView[]>(token, 'GET', '/v1/me/consents'),
      this.names.in(lang),
    ]);
    const rows = consents.map(
      (c) =>
        html`<tr id="consent-${c.id}">
          <td>
            ${c.serviceName?.[lang] ?? c.service}<br /><small
              >${c.organisationName?.[lang] ?? c.organisation}</small
            >
          </td>
          <td>${c.attributes.map((a, i) => html`${i > 0 ? html`<br />` : ''}${names.attribute(a)}`)}</td>
          <td>${c.purposeLabel?.[lang] ?? c.purpose}</td>
          <td>
            ${c.mode === 'once' ? t.consents.once : t.consents.ongoing},
            ${c.expiresAt ? t.consents.until(when(lang, c.expiresAt, false)) : t.consents.untilRevoked}
          </td>
          <td>
            ${t.consents.statuses[c.status] ?? c.status}<br /><small
              >${t.consents.granted} ${when(lang, c.grantedAt)}</small
            >
          </td>
          <td>
            <a href="/consentements/${c.id}/recu" download="recu-${c.id}.jws">${t.consents.receipt}</a> ${
              c.status === 'active'
                ? html`<form method="post" action="/consentements/${c.id}/revoquer" class="inline">
                    ${csrfField(request)}
                    <button
                      type="submit"
                      class="secondary"
                      aria-label="${t.consents.revoke}${t.colon} ${c.serviceName?.[lang] ?? c.service}, ${c.purposeLabel?.[lang] ?? c.purpose}"
                    >
                      ${t.consents.revoke}
                    </button>
                  </form>`
                : ''
            }
          </td>
        </tr>`,
    );
    await this.pages.send(request, response, {
      title: t.pages.consents,
      active: 'consents',
      main: html`<p>${t.consents.intro}</p>
        ${listTable(t.pages.consents, [t.consents.service, t.consents.data, t.consents.purpose, t.consents.mode, t.consents.status, html`<span class="visually-hidden">Actions</span>`], rows, t.consents.none)}`,
    });
  }

  /** The consent receipt as the vault signed it (a compact JWS), to keep. */
  @Get(':id/recu')
  async receipt(@Param('id') id: string, @Res() response: FastifyReply, @CitizenToken() token: string) {
    const answer = await this.vault.raw(token, 'GET', `/v1/me/consents/${vaultId(id)}/receipt`);
    response
      .status(200)
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="recu-${id}.jws"`)
      .type('application/jose')
      .send(answer.body);
  }

  @Post(':id/revoquer')
  async revoke(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Param('id') id: string,
    @Body() _form: FormDto,
  ) {
    await this.vault.json(token, 'DELETE', `/v1/me/consents/${vaultId(id)}`);
    await this.pages.redirect(request, response, '/consentements', {
      kind: 'success',
      text: both((t) => t.consents.revoked),
    });
  }
}
