import { html, type SafeHtml } from './html.js';

export type Language = 'fr' | 'en';

/**
 * Nothing from elsewhere: the app's own stylesheet, no script, never framed,
 * forms posted to the app itself — and to the origins given, where a form's
 * answer redirects on (a sign-in, a sign-out).
 */
export function strictCsp(formTargets: string[] = []): string {
  const origins = formTargets.map((url) => ` ${new URL(url).origin}`).join('');
  return `default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'${origins}; base-uri 'none'; frame-ancestors 'none'`;
}

const GOVERNMENT = { fr: 'Gouvernement du Québec', en: 'Government of Québec' } as const;

export interface GovPage {
  lang: Language;
  /** The document's title (the page's own first, then the site's). */
  title: string;
  /** Stylesheets of the app, after the shared one. */
  stylesheets?: string[];
  /** What the header shows beside the government's name: the language switch, a sign-out form. */
  header?: SafeHtml;
  /** A navigation between the header and the content, when the site has one. */
  nav?: SafeHtml;
  main: SafeHtml;
  /** Lines of the footer above the copyright. */
  footer?: SafeHtml;
}

/**
 * A page in the spirit of the Québec government's design system: the
 * government header, the content, the dark footer; `lang` on the document,
 * a link to skip to the content, and the shared stylesheet at
 * /assets/gov.css (GOV_CSS), served by the app.
 */
export function govPage(page: GovPage): string {
  const skip = page.lang === 'fr' ? 'Passer au contenu' : 'Skip to content';
  return html`<!doctype html>
<html lang="${page.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title}</title>
<link rel="stylesheet" href="/assets/gov.css">
${(page.stylesheets ?? []).map((href) => html`<link rel="stylesheet" href="${href}">`)}
</head>
<body>
<a class="skip" href="#content">${skip}</a>
<header class="gov-header">
  <div class="wrap">
    <p class="gov-name">${GOVERNMENT[page.lang]}</p>
    ${page.header}
  </div>
</header>
${page.nav}
<main id="content" class="wrap" tabindex="-1">
${page.main}
</main>
<footer class="gov-footer"><div class="wrap">${page.footer}<p>© ${GOVERNMENT[page.lang]}</p></div></footer>
</body>
</html>
`.text;
}

/** Sober, high contrast, in the spirit of the Québec government's design system (Système de design gouvernemental). */
export const GOV_CSS = `
:root { --blue: #095797; --dark: #223654; --text: #1f2022; --grey: #4e5662; --light: #f1f1f2; --red: #a12b18; --green: #2c6e2f; --focus: #ffbb00; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Open Sans", Arial, sans-serif; color: var(--text); background: #fff; line-height: 1.5; }
.wrap { max-width: 960px; margin: 0 auto; padding: 0 16px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -10000px; top: 0; background: #fff; color: var(--blue); padding: 8px 12px; }
.skip:focus { left: 8px; top: 8px; z-index: 10; }
.gov-header { background: var(--blue); color: #fff; }
.gov-header .wrap { display: flex; justify-content: space-between; align-items: center; gap: 12px; min-height: 72px; flex-wrap: wrap; }
.gov-name { margin: 0; font-weight: 700; font-size: 1.1rem; }
.gov-header a { color: #fff; }
.gov-header .tools { display: flex; gap: 16px; align-items: center; }
.gov-header .tools button { background: transparent; border: 2px solid #fff; color: #fff; }
a { color: var(--blue); }
a:focus, select:focus, button:focus, input:focus, textarea:focus, main:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
main:focus:not(:focus-visible) { outline: none; }
h1 { color: var(--dark); font-size: 2rem; }
h2 { color: var(--dark); font-size: 1.4rem; margin-top: 2rem; }
h3 { color: var(--dark); font-size: 1.15rem; }
label { font-weight: 600; }
input, select, button, textarea { font: inherit; padding: 6px 10px; border: 2px solid var(--dark); background: #fff; color: var(--text); }
button, .button { background: var(--blue); border: 2px solid var(--blue); color: #fff; font-weight: 700; cursor: pointer; text-decoration: none; display: inline-block; padding: 6px 14px; }
button.secondary, .button.secondary { background: #fff; color: var(--blue); }
button.danger { background: var(--red); border-color: var(--red); }
table { border-collapse: collapse; margin: 12px 0; min-width: 60%; }
caption { text-align: left; font-weight: 700; padding: 4px 0; }
th, td { border: 1px solid #c5cad2; padding: 4px 10px; text-align: left; vertical-align: top; }
thead th { background: var(--light); }
.notice { border-left: 6px solid var(--blue); background: var(--light); padding: 8px 16px; }
.notice.error { border-color: var(--red); }
.notice.success { border-color: var(--green); }
.gov-footer { margin-top: 48px; background: var(--dark); color: #fff; padding: 16px 0; }
`;
