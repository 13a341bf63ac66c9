import { Body, Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { html } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import { type PortalRequest, Sessions } from '../session/sessions.js';
import { VaultClient } from '../vault/vault-client.js';
import { CitizenToken, FormDto } from './citizen.js';
import { csrfField, textOf } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';

export class EraseForm extends FormDto {
  @IsIn(['yes'], { message: 'must be ticked' }) understood!: 'yes';
}

/** Mes données: export (a download) and erasure, the latter only after a confirmation step. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('donnees')
export class DataController {
  constructor(
    private readonly vault: VaultClient,
    private readonly pages: Pages,
    private readonly sessions: Sessions,
  ) {}

  @Get()
  async show(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() _token: string) {
    const t = textOf(request);
    await this.pages.send(request, response, {
      title: t.pages.data,
      active: 'data',
      main: html`<h2>${t.data.export}</h2>
        <p>${t.data.exportIntro}</p>
        <p><a class="button" href="/donnees/export" download>${t.data.download}</a></p>
        <h2>${t.data.erase}</h2>
        <p>${t.data.eraseIntro}</p>
        <form method="post" action="/donnees/effacement">
          ${csrfField(request)}<button type="submit" class="danger">${t.data.eraseStart}</button>
        </form>`,
    });
  }

  @Get('export')
  async export(@Res() response: FastifyReply, @CitizenToken() token: string) {
    const answer = await this.vault.raw(token, 'GET', '/v1/me/export');
    response
      .status(200)
      .header('cache-control', 'private, no-store')
      .header('content-disposition', 'attachment; filename="une-fois-mes-donnees.json"')
      .type('application/json')
      .send(answer.body);
  }

  /** The first step: what erasure does, and a box to tick before the final button. */
  @Post('effacement')
  async confirm(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() _token: string,
    @Body() _form: FormDto,
  ) {
    const t = textOf(request);
    await this.pages.send(request, response, {
      title: t.data.confirmTitle,
      active: 'data',
      main: html`<p class="notice error">${t.data.confirmText}</p>
        <p>${t.data.eraseIntro}</p>
        <form method="post" action="/donnees/effacement/confirmer">
          ${csrfField(request)}
          <p>
            <label
              ><input type="checkbox" name="understood" value="yes" required /> ${t.data.confirmCheck}</label
            >
          </p>
          <p>
            <button type="submit" class="danger">${t.data.confirm}</button>
            <a href="/donnees">${t.data.cancel}</a>
          </p>
        </form>`,
    });
  }

  @Post('effacement/confirmer')
  async erase(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Body() _form: EraseForm,
  ) {
    await this.vault.json(token, 'DELETE', '/v1/me');
    await this.sessions.end(request, response);
    response.redirect('/?efface=1', 303);
  }
}
