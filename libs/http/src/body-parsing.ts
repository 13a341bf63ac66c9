import { parse } from 'node:querystring';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '#libs/errors';

/** A request whose JSON body was parsed keeps its exact bytes here: what a detached signature covers. */
export interface RawBodyRequest extends FastifyRequest {
  rawBody?: Buffer;
}

/**
 * The bodies the apps take, each within `limitBytes`: JSON (application/json
 * and application/*+json, its exact bytes kept as `rawBody`) and HTML forms.
 * Anything else with a body is refused (415) before any route runs; a
 * malformed or oversize body is a 400 or 413 problem (Fastify's own errors,
 * mapped by the ProblemFilter).
 */
export function bodyParsing(fastify: FastifyInstance, limitBytes: number): void {
  fastify.removeAllContentTypeParsers();
  fastify.decorateRequest('rawBody', undefined);
  fastify.addContentTypeParser(
    /^application\/([\w.+-]+\+)?json\s*(;|$)/i,
    { parseAs: 'buffer', bodyLimit: limitBytes },
    (request: RawBodyRequest, body: Buffer, done) => {
      request.rawBody = body;
      if (body.length === 0) return done(null, {});
      try {
        done(null, JSON.parse(body.toString('utf8')));
      } catch {
        done(new DomainError('malformed_json', 'The request body could not be parsed as JSON.'), undefined);
      }
    },
  );
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: limitBytes },
    (_request, body: string, done) => {
      // Flat fields, a repeated name as an array of its values (never nested objects from field names).
      done(null, { ...parse(body) });
    },
  );
}
