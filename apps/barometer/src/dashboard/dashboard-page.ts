import { govPage, html, type SafeHtml } from '#libs/web';
import { DEFINITIONS, type Language } from '../indicators/definitions.js';
import type { IndicatorCode, IndicatorRow, Period } from '../indicators/indicators.service.js';

export interface DashboardView {
  lang: Language;
  period: Period;
  /** Null: the whole administration. */
  organisation: string | null;
  organisations: string[];
  rows: IndicatorRow[];
}

const TEXT = {
  fr: {
    title: 'Baromètre Une fois',
    government: 'Gouvernement du Québec',
    intro:
      'Progrès de l’administration vers ses cibles : ne pas redemander une information déjà connue, et rappeler les échéances par voie numérique.',
    switchTo: 'English',
    switchLang: 'en',
    organisation: 'Organisation',
    whole: 'Ensemble de l’administration',
    period: 'Période',
    periods: { day: 'Jour', month: 'Mois', year: 'Année' },
    show: 'Afficher',
    target: 'Cible',
    targetIs: 'Cible :',
    value: 'Valeur',
    numerator: 'Numérateur',
    denominator: 'Dénominateur',
    start: 'Début de la période',
    none: 'Aucune donnée pour cette sélection.',
    chart: (name: string, target: string) => `${name} au fil du temps, comparé à la cible de ${target}`,
    openData: 'Données ouvertes',
    definitions: 'Définitions',
    footer: 'Indicateurs calculés à partir des seuls événements signés reçus de la plateforme.',
  },
  en: {
    title: 'Une fois barometer',
    government: 'Government of Québec',
    intro:
      'The administration’s progress toward its targets: not asking again for information already known, and reminding of deadlines digitally.',
    switchTo: 'Français',
    switchLang: 'fr',
    organisation: 'Organisation',
    whole: 'Whole administration',
    period: 'Period',
    periods: { day: 'Day', month: 'Month', year: 'Year' },
    show: 'Show',
    target: 'Target',
    targetIs: 'Target:',
    value: 'Value',
    numerator: 'Numerator',
    denominator: 'Denominator',
    start: 'Period start',
    none: 'No data for this selection.',
    chart: (name: string, target: string) => `${name} over time, against the target of ${target}`,
    openData: 'Open data',
    definitions: 'Definitions',
    footer: 'Indicators computed from the signed events received from the platform, and nothing else.',
  },
} as const;

function percent(lang: Language, value: number | null): string {
  if (value === null) return '—';
  return new Intl.NumberFormat(lang === 'fr' ? 'fr-CA' : 'en-CA', {
    style: 'percent',
    maximumFractionDigits: 1,
  }).format(value);
}

function query(
  view: DashboardView,
  changes: Partial<Record<'lang' | 'period' | 'organisation', string>>,
): string {
  const params = new URLSearchParams();
  const lang = changes.lang ?? view.lang;
  const period = changes.period ?? view.period;
  const organisation = changes.organisation ?? view.organisation;
  if (lang !== 'fr') params.set('lang', lang);
  if (period !== 'month') params.set('period', period);
  if (organisation) params.set('organisation', organisation);
  const text = params.toString();
  return text ? `/?${text}` : '/';
}

const WIDTH = 640;
const HEIGHT = 240;
const PAD = { left: 48, right: 16, top: 16, bottom: 40 };

/** The indicator over time as a line, the target as a dashed line across, 0 to 100 %. */
function chart(view: DashboardView, code: IndicatorCode, rows: IndicatorRow[]): SafeHtml {
  const t = TEXT[view.lang];
  const name = DEFINITIONS[code].name[view.lang];
  const target = DEFINITIONS[code].target;
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v: number) => (PAD.top + innerH * (1 - v)).toFixed(1);
  const x = (i: number) =>
    (PAD.left + (rows.length <= 1 ? innerW / 2 : (innerW * i) / (rows.length - 1))).toFixed(1);
  const grid = [0, 0.25, 0.5, 0.75, 1].map(
    (v) =>
      html`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${PAD.left - 6}" y="${Number(y(v)) + 4}" text-anchor="end" class="axis">${percent(view.lang, v)}</text>`,
  );
  const points = rows.flatMap((row, i) => (row.value === null ? [] : [`${x(i)},${y(row.value)}`]));
  const dots = rows.map((row, i) =>
    row.value === null ? '' : html`<circle cx="${x(i)}" cy="${y(row.value)}" r="4" class="point"/>`,
  );
  // The first and last labels stay inside the chart.
  const anchor = (i: number) =>
    rows.length === 1 ? 'middle' : i === 0 ? 'start' : i === rows.length - 1 ? 'end' : 'middle';
  const labels = rows.map(
    (row, i) =>
      html`<text x="${x(i)}" y="${HEIGHT - PAD.bottom + 18}" text-anchor="${anchor(i)}" class="axis">${row.start}</text>`,
  );
  const id = `chart-${code}`;
  return html`<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id}-title" class="chart">
  <title id="${id}-title">${t.chart(name, percent(view.lang, target))}</title>
  ${grid}
  <line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(target)}" y2="${y(target)}" class="target"/>
  <text x="${WIDTH - PAD.right}" y="${Number(y(target)) - 6}" text-anchor="end" class="target-label">${t.target} ${percent(view.lang, target)}</text>
  ${points.length > 1 ? html`<polyline points="${points.join(' ')}" class="line"/>` : ''}
  ${dots}
  ${labels}
</svg>`;
}

function table(view: DashboardView, code: IndicatorCode, rows: IndicatorRow[]): SafeHtml {
  const t = TEXT[view.lang];
  const definition = DEFINITIONS[code];
  return html`<table>
  <caption>${definition.name[view.lang]} — ${definition.numerator[view.lang]} ÷ ${definition.denominator[view.lang].toLowerCase()}</caption>
  <thead><tr><th scope="col">${t.start}</th><th scope="col">${t.numerator}</th><th scope="col">${t.denominator}</th><th scope="col">${t.value}</th><th scope="col">${t.target}</th></tr></thead>
  <tbody>
${rows.map(
  (row) =>
    html`<tr><th scope="row">${row.start}</th><td>${row.numerator}</td><td>${row.denominator}</td><td>${percent(view.lang, row.value)}</td><td>${percent(view.lang, row.target)}</td></tr>
`,
)}  </tbody>
</table>`;
}

function section(view: DashboardView, code: IndicatorCode): SafeHtml {
  const t = TEXT[view.lang];
  const rows = view.rows.filter((row) => row.indicator === code && row.organisation === view.organisation);
  const definition = DEFINITIONS[code];
  return html`<section aria-labelledby="${code}-heading" class="indicator" data-indicator="${code}">
  <h2 id="${code}-heading">${code} — ${definition.name[view.lang]}</h2>
  <p class="target-text">${t.targetIs} <strong>${percent(view.lang, definition.target)}</strong></p>
  ${rows.length === 0 ? html`<p>${t.none}</p>` : html`${chart(view, code, rows)}
${table(view, code, rows)}`}
</section>`;
}

/** The dashboard: server-rendered, no script, French by default. */
export function dashboardPage(view: DashboardView): string {
  const t = TEXT[view.lang];
  const csv = new URLSearchParams({ period: view.period, format: 'csv' });
  if (view.organisation) csv.set('organisation', view.organisation);
  const selected = (yes: boolean) => (yes ? html` selected` : '');
  return govPage({
    lang: view.lang,
    title: t.title,
    stylesheets: ['/assets/dashboard.css'],
    header: html`<a class="lang" href="${query(view, { lang: t.switchLang })}" lang="${t.switchLang}" hreflang="${t.switchLang}">${t.switchTo}</a>`,
    main: html`<h1>${t.title}</h1>
  <p>${t.intro}</p>
  <form method="get" action="/" class="filters">
    ${view.lang === 'fr' ? '' : html`<input type="hidden" name="lang" value="${view.lang}">`}
    <label for="organisation">${t.organisation}</label>
    <select id="organisation" name="organisation"><option value=""${selected(view.organisation === null)}>${t.whole}</option>${view.organisations.map(
      (org) => html`<option value="${org}"${selected(org === view.organisation)}>${org}</option>`,
    )}</select>
    <label for="period">${t.period}</label>
    <select id="period" name="period">${(['day', 'month', 'year'] as const).map(
      (p) => html`<option value="${p}"${selected(p === view.period)}>${t.periods[p]}</option>`,
    )}</select>
    <button type="submit">${t.show}</button>
  </form>
  ${section(view, 'I2')}
  ${section(view, 'I3')}
  <p><a href="/v1/indicators?${csv.toString()}">${t.openData} (CSV)</a> · <a href="/v1/indicators/definitions">${t.definitions}</a></p>`,
    footer: html`<p>${t.footer}</p>`,
  });
}

/** What the dashboard's own stylesheet adds to the shared one (GOV_CSS): the filters, the charts, the tables' figures. */
export const DASHBOARD_CSS = `
.filters { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: center; padding: 12px; background: var(--light); }
.filters label { font-weight: 400; }
.chart { width: 100%; height: auto; max-width: 640px; display: block; }
.chart .grid { stroke: #c5cad2; stroke-width: 1; }
.chart .axis { fill: #4e5662; font-size: 12px; }
.chart .target { stroke: #cb381f; stroke-width: 2; stroke-dasharray: 6 4; }
.chart .target-label { fill: #a12b18; font-size: 12px; font-weight: 700; }
.chart .line { fill: none; stroke: var(--blue); stroke-width: 3; }
.chart .point { fill: var(--blue); }
td { text-align: right; }
`;
