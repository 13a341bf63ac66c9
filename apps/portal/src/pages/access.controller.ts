import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { html, type SafeHtml } from '#libs/web';
import type { PortalRequest } from '../session/sessions.js';
import { AccessLogCheck, type Verification } from '../vault/access-log-check.js';
import { CatalogueNames } from '../vault/catalogue-names.js';
import { CitizenToken } from './citizen.js';
import { langOf, listTable, textOf, when } from './layout.js';
import { PageErrorFilter } from './page-error.filter.js';
import { Pages } from './pages.service.js';

/**
 * Qui a consulté mes données: every release and refusal of the citizen's
 * access log, with the legal reference where no consent was needed, and a
 * "verified" mark when the chain and its latest signed checkpoint check out.
 */
@ApiExcludeController()
@UseFilters(PageErrorFilter)
@Controller('acces')
export class AccessController {
  constructor(
    private readonly check: AccessLogCheck,
    private readonly names: CatalogueNames,
    private readonly pages: Pages,
  ) {}

  @Get()
  async show(@Req() request: PortalRequest, @Res() response: FastifyReply, @CitizenToken() token: string) {
    const t = textOf(request);
    const lang = langOf(request);
    const [{ entries, verification }, names] = await Promise.all([
      this.check.read(token),
      this.names.in(lang),
    ]);
    const verdict: Record<Verification['state'], () => SafeHtml> = {
      verified: () => {
        const { checkpoint } = verification as Extract<Verification, { state: 'verified' }>;
        return html`<p class="notice success" id="verification">
          <span class="verified">✔ ${t.access.verified}</span> —
          ${t.access.verifiedText(checkpoint.seq, when(lang, checkpoint.at))}
        </p>`;
      },
      'not-checkpointed': () => html`<p class="notice" id="verification">${t.access.notCheckpointed}</p>`,
      unchecked: () => html`<p class="notice" id="verification">${t.access.unchecked}</p>`,
      broken: () =>
        html`<p class="notice error" id="verification"><span class="broken">${t.access.broken}</span></p>`,
    };
    const rows = entries.map((e) => {
      const legal = e.basis.filter((b) => b.kind === 'legal_basis');
      const byConsent = e.basis.some((b) => b.kind === 'consent');
      return html`<tr data-outcome="${e.outcome}">
        <td>${when(lang, e.at)}</td>
        <td>${names.service(e.service)}<br /><small>${names.organisation(e.organisation)}</small></td>
        <td>${names.purpose(e.purpose)}</td>
        <td>
          ${e.released.length > 0 ? html`<strong>${t.access.released}${t.colon}</strong> ${e.released.map((a) => names.attribute(a)).join(', ')}<br />` : ''}
          ${e.withheld.length > 0 ? html`<strong>${t.access.withheld}${t.colon}</strong> ${e.withheld.map((w) => `${names.attribute(w.attribute)} (${t.access.reasons[w.reason] ?? w.reason})`).join(', ')}` : ''}
        </td>
        <td>${t.access.outcomes[e.outcome] ?? e.outcome}</td>
        <td>
          ${
            [
              ...(byConsent ? [t.access.consent] : []),
              ...[...new Set(legal.map((b) => (b.kind === 'legal_basis' ? b.reference : '')))].map((ref) =>
                t.access.legal(ref),
              ),
            ].join('; ') || '—'
          }
        </td>
      </tr>`;
    });
    await this.pages.send(request, response, {
      title: t.pages.access,
      active: 'access',
      main: html`<p>${t.access.intro}</p>
        ${verdict[verification.state]()}
        ${listTable(t.pages.access, [t.access.when, t.access.who, t.access.why, t.access.what, t.access.outcome, t.access.basis], rows, t.access.none)}`,
    });
  }
}
