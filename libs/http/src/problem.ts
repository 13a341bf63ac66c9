import { DomainError, ERROR_TITLES, type ErrorCode, type FieldError } from '#libs/errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Errors of the OAuth token endpoint also carry RFC 6749 §5.2 `error` and `error_description`. */
const OAUTH_CODES = new Set<ErrorCode>(['invalid_client', 'invalid_request', 'unsupported_grant_type']);

export interface ProblemBody {
  type: string;
  code: ErrorCode;
  title: string;
  titles: { fr: string; en: string };
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  correlationId?: string;
  error?: string;
  error_description?: string;
}

/** French unless the client prefers English (rule 9). */
export function preferredLanguage(acceptLanguage: string | undefined): 'fr' | 'en' {
  const first = (acceptLanguage ?? '').split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'fr';
}

export function problemBody(
  error: DomainError,
  status: number,
  context: { acceptLanguage?: string; instance?: string; correlationId?: string },
): ProblemBody {
  const titles = ERROR_TITLES[error.code];
  return {
    type: `urn:une-fois:problem:${error.code}`,
    code: error.code,
    title: titles[preferredLanguage(context.acceptLanguage)],
    titles: { fr: titles.fr, en: titles.en },
    status,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(context.instance ? { instance: context.instance } : {}),
    ...(error.errors.length > 0 ? { errors: error.errors } : {}),
    ...(context.correlationId ? { correlationId: context.correlationId } : {}),
    ...(OAUTH_CODES.has(error.code)
      ? { error: error.code, error_description: error.detail ?? titles.en }
      : {}),
  };
}
