export { escapeHtml, html, HTML_TYPE, raw, SafeHtml } from './html.js';
export { GOV_CSS, type GovPage, govPage, type Language, strictCsp } from './gov-page.js';
