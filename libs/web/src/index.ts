export { escapeHtml, html, raw, SafeHtml } from './html.js';
export { GOV_CSS, type GovPage, govPage, type Language, STRICT_CSP } from './gov-page.js';
