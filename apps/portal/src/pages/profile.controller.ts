import { Body, Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { html, type SafeHtml } from '#libs/web';
import { CsrfGuard } from '../session/csrf.guard.js';
import type { PortalRequest } from '../session/sessions.js';
import { CatalogueNames } from '../vault/catalogue-names.js';
import { VaultClient, VaultProblem } from '../vault/vault-client.js';
import { CitizenToken, FormDto } from './citizen.js';
import { csrfField, langOf, listTable, textOf, when } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';
import { both } from './text.js';

interface Profile {
  language: 'fr' | 'en';
  attributes: {
    attribute: string;
    value: unknown;
    source: string;
    sourceName: { fr: string; en: string };
    updatedAt: string;
  }[];
}

export class ContactForm extends FormDto {
  @IsOptional() @IsString() @MaxLength(320) email?: string;
  @IsOptional() @IsString() @MaxLength(40) phone?: string;
}

const CONTACT = { email: 'contact.email', phone: 'contact.phone' } as const;

/** A value as the citizen reads it: text as is, an address on its lines. */
function shown(value: unknown): SafeHtml | string {
  if (value && typeof value === 'object') {
    const a = value as Record<string, string | undefined>;
    return html`${a.line1}${a.line2 ? html`<br />${a.line2}` : ''}<br />${a.city} ${a.province}
      ${a.postalCode}`;
  }
  return String(value);
}

/** Mon profil: each value, where it comes from and when it changed; the contact details the citizen declares. */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@UseGuards(CsrfGuard)
@Controller('profil')
export class ProfileController {
  constructor(
    private readonly vault: VaultClient,
    private readonly names: CatalogueNames,
    private readonly pages: Pages,
  ) {}

  @Get()
  async show(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    await this.render(request, response, token);
  }

  @Post('coordonnees')
  async contact(
    @Req() request: PortalRequest,
    @Res() response: FastifyReply,
    @CitizenToken() token: string,
    @Body() form: ContactForm,
  ) {
    const profile = await this.vault.json<Profile>(token, 'GET', '/v1/me');
    const held = (code: string) => profile.attributes.find((a) => a.attribute === code)?.value;
    const problems: { field: keyof typeof CONTACT; message: string }[] = [];
    for (const field of ['email', 'phone'] as const) {
      const value = form[field]?.trim() ?? '';
      // An empty field leaves the value as it is: erasing a value is the erasure's business.
      if (value === '' || value === held(CONTACT[field])) continue;
      try {
        await this.vault.json(token, 'PUT', `/v1/me/attributes/${CONTACT[field]}`, { value });
      } catch (error) {
        if (!(error instanceof VaultProblem) || error.status >= 500) throw error;
        problems.push({ field, message: error.titles[langOf(request)] || error.code });
      }
    }
    if (problems.length > 0) return this.render(request, response, token, { problems, form, profile });
    await this.pages.redirect(request, response, '/profil', {
      kind: 'success',
      text: both((t) => t.profile.saved),
    });
  }

  /** The page; after a refused form, with its problems, what was typed, and the profile read for it (unchanged). */
  private async render(
    request: PortalRequest,
    response: FastifyReply,
    token: string,
    refused?: {
      problems: { field: 'email' | 'phone'; message: string }[];
      form: Partial<ContactForm>;
      profile: Profile;
    },
  ) {
    const t = textOf(request);
    const lang = langOf(request);
    const problems = refused?.problems ?? [];
    const form = refused?.form ?? {};
    const [profile, names] = await Promise.all([
      refused?.profile ?? this.vault.json<Profile>(token, 'GET', '/v1/me'),
      this.names.in(lang),
    ]);
    const held = (code: string) => profile.attributes.find((a) => a.attribute === code)?.value;
    const rows = profile.attributes.map(
      (a) =>
        html`<tr>
          <th scope="row">${names.attribute(a.attribute)}</th>
          <td>${shown(a.value)}</td>
          <td>${a.source === 'citizen' ? t.profile.byYou : a.sourceName[lang]}</td>
          <td>${when(lang, a.updatedAt)}</td>
        </tr>`,
    );
    const problemOf = (field: 'email' | 'phone') => problems.find((p) => p.field === field);
    const input = (field: 'email' | 'phone', type: string, autocomplete: string) => {
      const problem = problemOf(field);
      return html`<div class="field">
        <label for="${field}">${t.profile[field]}</label><br />
        ${problem ? html`<span class="broken" id="${field}-error">${problem.message}</span><br />` : ''}
        <input
          type="${type}"
          id="${field}"
          name="${field}"
          autocomplete="${autocomplete}"
          value="${form[field] ?? String(held(CONTACT[field]) ?? '')}"
          ${problem ? html` aria-invalid="true" aria-describedby="${field}-error"` : ''}
        />
      </div>`;
    };
    await this.pages.send(request, response, {
      title: t.pages.profile,
      active: 'profile',
      status: problems.length > 0 ? 422 : 200,
      main: html`<p>${t.profile.intro}</p>
        ${listTable(t.pages.profile, [t.profile.attribute, t.profile.value, t.profile.source, t.profile.updated], rows, t.profile.none)}
        <h2>${t.profile.contact}</h2>
        <p>${t.profile.contactIntro}</p>
        ${problems.length > 0 ? html`<p class="notice error" role="alert">${t.errors.fix} ${problems.map((p) => p.message).join(' ')}</p>` : ''}
        <form method="post" action="/profil/coordonnees">
          ${csrfField(request)} ${input('email', 'email', 'email')} ${input('phone', 'tel', 'tel')}
          <p><button type="submit">${t.profile.save}</button></p>
        </form>`,
    });
  }
}
