import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '#libs/database';
import { DomainError, loggableError } from '#libs/errors';
import { codeOfStatus, statusOf } from './error-status.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem.js';

/** How long a client is asked to wait before retrying a 503: about what a database failover or restart takes. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Maps every error to an RFC 9457 problem. A 500 never carries the cause, only
 * a correlation id found in the log. A lost or refused database connection, or
 * a statement that gave up on a lock or on time, is a 503 with Retry-After: the
 * request may succeed once the pool reconnects or the lock is released.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const response = http.getResponse<FastifyReply>();
    const error = toDomainError(exception);
    const status =
      exception instanceof HttpException && !(exception instanceof DomainError)
        ? exception.getStatus()
        : statusOf(error.code);
    const correlationId = String(request.id ?? '');
    if (status >= 500) {
      this.logger.error({ err: loggableError(exception), correlationId }, 'request failed');
    }
    if (status === 503 && !response.sent) response.header('Retry-After', String(RETRY_AFTER_SECONDS));
    sendProblem(
      response,
      status,
      problemBody(error, status, {
        acceptLanguage: request.headers['accept-language'],
        instance: request.originalUrl.split('?')[0],
        correlationId: status >= 500 ? correlationId : undefined,
      }),
    );
  }
}

export function sendProblem(response: FastifyReply, status: number, body: object): void {
  if (response.sent) return;
  response.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** Fastify's own refusals of a request's body, before any route runs. */
const BODY_ERRORS: Record<string, () => DomainError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new DomainError('payload_too_large', 'The request body exceeds the size limit.'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new DomainError('unsupported_media_type', 'Send JSON (application/json).'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new DomainError('validation_failed', 'Incomplete request body.'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new DomainError('malformed_json', 'The request body is empty.'),
  FST_ERR_CTP_INVALID_JSON_BODY: () =>
    new DomainError('malformed_json', 'The request body could not be parsed as JSON.'),
};

function toDomainError(exception: unknown): DomainError {
  if (exception instanceof DomainError) return exception;
  const fastifyCode = (exception as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && BODY_ERRORS[fastifyCode]) return BODY_ERRORS[fastifyCode]();
  if (isDatabaseUnavailable(exception)) {
    return new DomainError(
      'service_unavailable',
      'The database cannot serve this request right now (unreachable or busy); retry shortly.',
    );
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return new DomainError(codeOfStatus(status), status < 500 ? exception.message : healthDetail(exception));
  }
  return new DomainError('internal_error');
}

/** A failed health check says which dependency is down (and nothing else). */
function healthDetail(exception: HttpException): string | undefined {
  const body = exception.getResponse() as { error?: Record<string, { status?: string }> } | string;
  if (typeof body !== 'object' || !body.error) return undefined;
  const down = Object.keys(body.error);
  return down.length > 0 ? `Not ready: ${down.join(', ')} down.` : undefined;
}
