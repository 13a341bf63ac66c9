import { govPage, html, type SafeHtml } from '#libs/web';
import type { PortalRequest } from '../session/sessions.js';
import { type Lang, TEXT } from './text.js';

export type PageName = keyof (typeof TEXT)['fr']['pages'];

/** The pages of the signed-in citizen, in the navigation's order, with their paths. */
export const PAGES: [PageName, string][] = [
  ['profile', '/profil'],
  ['consents', '/consentements'],
  ['requests', '/demandes'],
  ['access', '/acces'],
  ['deadlines', '/echeances'],
  ['preferences', '/preferences'],
  ['data', '/donnees'],
];

export const langOf = (request: PortalRequest): Lang => request.lang ?? 'fr';
export const textOf = (request: PortalRequest) => TEXT[langOf(request)];

/** A date and time as the citizen reads it, in Québec's time. */
export function when(lang: Lang, iso: string | null | undefined, withTime = true): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-CA' : 'en-CA', {
    dateStyle: 'long',
    ...(withTime && { timeStyle: 'short' }),
    timeZone: 'America/Montreal',
  }).format(new Date(iso));
}

/** The hidden field every form of the session carries. */
export const csrfField = (request: PortalRequest) =>
  html`<input type="hidden" name="_csrf" value="${request.session?.data.csrf ?? ''}">`;

/** The language switch leads back to this page; a page shown in answer to a form, to its section of the site. */
function languageSwitch(request: PortalRequest, active?: PageName): SafeHtml {
  const other = langOf(request) === 'fr' ? 'en' : 'fr';
  const back =
    request.method === 'GET'
      ? request.originalUrl.split('?')[0]
      : (PAGES.find(([name]) => name === active)?.[1] ?? '/');
  return html`<a class="lang" href="/langue?lang=${other}&amp;retour=${encodeURIComponent(back)}" lang="${other}" hreflang="${other}">${textOf(request).switchTo}</a>`;
}

/**
 * A page of the portal: the government header with the language switch
 * (and, signed in, the citizen's name and the sign-out button), the
 * navigation of the citizen's pages with the current one marked, a one-time
 * message left by the last form (not on an error page: it waits for the
 * next), then the content.
 */
export function portalPage(
  request: PortalRequest,
  page: { title: string; main: SafeHtml; active?: PageName; withFlash?: boolean },
): string {
  const t = textOf(request);
  const citizen = request.session?.data.citizen;
  const flash = page.withFlash === false ? undefined : request.session?.data.flash;
  const header = html`<div class="tools">
    ${citizen?.givenName ? html`<span>${t.hello(citizen.givenName)}</span>` : ''}
    ${languageSwitch(request, page.active)}
    ${
      citizen
        ? html`<form method="post" action="/auth/deconnexion">${csrfField(request)}<button type="submit">${t.signOut}</button></form>`
        : html`<a href="/auth/connexion">${t.signIn}</a>`
    }
  </div>`;
  const nav = citizen
    ? html`<nav class="site-nav" aria-label="${t.nav}"><div class="wrap"><ul>
${PAGES.map(([name, path]) => html`<li><a href="${path}"${name === page.active ? html` aria-current="page"` : ''}>${t.pages[name]}</a></li>`)}
</ul></div></nav>`
    : undefined;
  const message = flash
    ? html`<p class="notice ${flash.kind}" role="status">${flash.text[langOf(request)]}</p>`
    : undefined;
  return govPage({
    lang: langOf(request),
    title: `${page.title} — ${t.site}`,
    stylesheets: ['/assets/portal.css'],
    header,
    nav,
    main: html`<h1>${page.title}</h1>${message}${page.main}`,
    footer: html`<p>${t.site}</p>`,
  });
}

/** What the portal's own stylesheet adds to the shared one. */
export const PORTAL_CSS = `
.site-nav { background: var(--light); border-bottom: 1px solid #c5cad2; }
.site-nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 20px; }
.site-nav a { display: inline-block; padding: 10px 0; font-weight: 600; text-decoration: none; }
.site-nav a[aria-current="page"] { border-bottom: 4px solid var(--blue); color: var(--dark); }
.inline { display: inline; }
.field { margin: 12px 0; }
.field input[type="text"], .field input[type="email"], .field input[type="tel"] { width: 100%; max-width: 28rem; }
.checks label, .radios label { font-weight: 400; margin-right: 16px; }
fieldset { border: 1px solid #c5cad2; margin: 12px 0; padding: 8px 16px; }
legend { font-weight: 700; }
.verified { color: var(--green); font-weight: 700; }
.broken { color: var(--red); font-weight: 700; }
.feed-url { word-break: break-all; font-family: monospace; background: var(--light); padding: 8px; }
.card { border: 1px solid #c5cad2; padding: 8px 16px; margin: 12px 0; }
.pre-line { white-space: pre-line; }
.badge { background: var(--blue); color: #fff; padding: 0 6px; font-size: 0.85rem; }
`;

/** A page's list: its rows under a caption and column headings, or `none` when there are no rows. */
export function listTable(
  caption: string,
  headings: (string | SafeHtml)[],
  rows: SafeHtml[],
  none: string,
): SafeHtml {
  if (rows.length === 0) return html`<p>${none}</p>`;
  return html`<table>
    <caption>
      ${caption}
    </caption>
    <thead>
      <tr>
        ${headings.map((heading) => html`<th scope="col">${heading}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}
