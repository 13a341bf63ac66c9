import express, { type NextFunction, type Request, type Response } from 'express';
import { DomainError } from '#libs/errors';
import { sendProblem } from './problem.filter.js';
import { problemBody } from './problem.js';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** A request whose JSON body was parsed keeps its exact bytes here: what a detached signature covers. */
export interface RawBodyRequest extends Request {
  rawBody?: Buffer;
}
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Body parsers with a size limit, and an error handler right behind them so
 * malformed or oversize bodies get a problem before any route runs.
 */
export function bodyParsing(limitBytes: number): Array<express.RequestHandler | express.ErrorRequestHandler> {
  const requireKnownType: express.RequestHandler = (request, _response, next) => {
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'];
    if (hasBody && !request.is([...JSON_TYPES, FORM_TYPE])) {
      next(new DomainError('unsupported_media_type', 'Send JSON (application/json).'));
      return;
    }
    next();
  };
  const onError = (error: unknown, request: Request, response: Response, next: NextFunction): void => {
    const domainError = toBodyError(error);
    if (!domainError) {
      next(error);
      return;
    }
    const status =
      domainError.code === 'payload_too_large'
        ? 413
        : domainError.code === 'unsupported_media_type'
          ? 415
          : 400;
    sendProblem(
      response,
      status,
      problemBody(domainError, status, {
        acceptLanguage: request.headers['accept-language'],
        instance: request.originalUrl.split('?')[0],
      }),
    );
  };
  return [
    requireKnownType,
    express.json({
      limit: limitBytes,
      type: JSON_TYPES,
      strict: false,
      verify: (request, _response, bytes) => {
        (request as RawBodyRequest).rawBody = bytes;
      },
    }),
    express.urlencoded({ limit: limitBytes, extended: false, type: FORM_TYPE }),
    onError,
  ];
}

function toBodyError(error: unknown): DomainError | null {
  if (error instanceof DomainError) return error;
  const type = (error as { type?: string } | null)?.type;
  if (type === 'entity.too.large')
    return new DomainError('payload_too_large', 'The request body exceeds the size limit.');
  if (type === 'entity.parse.failed')
    return new DomainError('malformed_json', 'The request body could not be parsed as JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new DomainError('unsupported_media_type', 'Unsupported body encoding.');
  }
  if (type === 'request.aborted' || type === 'request.size.invalid')
    return new DomainError('validation_failed', 'Incomplete request body.');
  return null;
}
