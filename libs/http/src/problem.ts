import { DomainError, ERROR_TITLES, type ErrorCode, type FieldError } from '#libs/errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

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
  };
}
