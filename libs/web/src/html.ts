/** Markup that is already safe: written by the code, or escaped on the way in. */
export class SafeHtml {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/**
 * A template literal whose interpolations are escaped, unless they are
 * SafeHtml (another `html` template, or `raw`); arrays are joined, null,
 * undefined and false render nothing. The one way pages are written, so a
 * value from elsewhere never reaches a page unescaped.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0];
  values.forEach((value, i) => (out += render(value) + strings[i + 1]));
  return new SafeHtml(out);
}

/** Trusted markup the code wrote itself (an SVG built here, a constant). Never for outside input. */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

/** The content type of the pages the apps render. */
export const HTML_TYPE = 'text/html; charset=utf-8';
