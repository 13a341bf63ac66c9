import { Body, Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { html } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import type { PortalRequest } from '../session/sessions.js';
import { VaultClient, VaultProblem } from '../vault/vault-client.js';
import { CitizenToken, FormDto } from './citizen.js';
import { csrfField, langOf, textOf } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';
import { both } from './text.js';

interface Preferences {
  language: 'fr' | 'en';
  channels: { email: boolean; sms: boolean; portal: boolean };
  quietHours: { start: string; end: string };
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A checkbox is sent when ticked, and not at all otherwise. */
export class PreferencesForm extends FormDto {
  @IsIn(['fr', 'en']) language!: 'fr' | 'en';
  @IsOptional() @IsIn(['on']) email?: string;
  @IsOptional() @IsIn(['on']) sms?: string;
  @IsOptional() @IsIn(['on']) portal?: string;
  @Matches(TIME, { message: 'must be HH:MM' }) quietStart!: string;
  @Matches(TIME, { message: 'must be HH:MM' }) quietEnd!: string;
}

/** Préférences: the reminders' channels, language and quiet hours. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('preferences')
export class PreferencesController {
  constructor(
    private readonly vault: VaultClient,
    private readonly pages: Pages,
  ) {}

  @Get()
  async show(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    await this.render(
      request,
      response,
      await this.vault.json<Preferences>(token, 'GET', '/v1/me/preferences'),
    );
  }

  @Post()
  async save(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Body() form: PreferencesForm,
  ) {
    const preferences: Preferences = {
      language: form.language,
      channels: { email: !!form.email, sms: !!form.sms, portal: !!form.portal },
      quietHours: { start: form.quietStart, end: form.quietEnd },
    };
    try {
      await this.vault.json(token, 'PUT', '/v1/me/preferences', preferences);
    } catch (error) {
      if (!(error instanceof VaultProblem) || error.status >= 500) throw error;
      return this.render(request, response, preferences, error.titles[langOf(request)] || error.code);
    }
    await this.pages.redirect(request, response, '/preferences', {
      kind: 'success',
      text: both((t) => t.preferences.saved),
    });
  }

  private async render(request: PortalRequest, response: FastifyReply, p: Preferences, problem?: string) {
    const t = textOf(request);
    const check = (name: 'email' | 'sms' | 'portal') =>
      html`<label
        ><input type="checkbox" name="${name}" value="on" ${p.channels[name] ? html` checked` : ''} />
        ${t.preferences[name]}</label
      >`;
    const radio = (value: 'fr' | 'en', label: string) =>
      html`<label
        ><input type="radio" name="language" value="${value}" ${p.language === value ? html` checked` : ''} />
        <span lang="${value}">${label}</span></label
      >`;
    await this.pages.send(request, response, {
      title: t.pages.preferences,
      active: 'preferences',
      status: problem ? 422 : 200,
      main: html`<p>${t.preferences.intro}</p>
        ${problem ? html`<p class="notice error" role="alert">${t.errors.fix} ${problem}</p>` : ''}
        <form method="post" action="/preferences">
          ${csrfField(request)}
          <fieldset class="radios">
            <legend>${t.preferences.language}</legend>
            ${radio('fr', 'Français')} ${radio('en', 'English')}
          </fieldset>
          <fieldset class="checks">
            <legend>${t.preferences.channels}</legend>
            ${check('email')} ${check('sms')} ${check('portal')}
          </fieldset>
          <fieldset>
            <legend>${t.preferences.quiet}</legend>
            <label for="quietStart">${t.preferences.quietStart}</label>
            <input type="time" id="quietStart" name="quietStart" value="${p.quietHours.start}" required />
            <label for="quietEnd">${t.preferences.quietEnd}</label>
            <input type="time" id="quietEnd" name="quietEnd" value="${p.quietHours.end}" required />
            <p><small>${t.preferences.quietHint}</small></p>
          </fieldset>
          <p><button type="submit">${t.preferences.save}</button></p>
        </form>`,
    });
  }
}
