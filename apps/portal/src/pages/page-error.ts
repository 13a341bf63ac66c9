/**
 * What a page cannot do, as the citizen is told it: `sign-in` sends them to
 * sign in (no session, or the vault no longer takes its token), the others
 * are an error page with their status (`sign-in-failed`: the issuer's
 * answer did not check out, or the citizen cancelled).
 */
export type PageErrorKind =
  | 'sign-in'
  | 'sign-in-failed'
  | 'forbidden'
  | 'not-found'
  | 'bad-request'
  | 'unavailable';

export class PageError extends Error {
  constructor(
    readonly kind: PageErrorKind,
    message: string = kind,
  ) {
    super(message);
    this.name = 'PageError';
  }
}

export const PAGE_ERROR_STATUS: Record<Exclude<PageErrorKind, 'sign-in'>, number> = {
  'sign-in-failed': 401,
  forbidden: 403,
  'not-found': 404,
  'bad-request': 400,
  unavailable: 503,
};
