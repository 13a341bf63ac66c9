import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppConfig } from '#libs/config';
import { strictCsp } from '#libs/web';
import { type PortalRequest, Sessions } from './session/sessions.js';

/** Paths served without a session: probes, and the stylesheet. */
const SESSIONLESS = /^\/(health|metrics|assets\/)/;

/**
 * The portal's own hooks on its HTTP server, before any route runs: the
 * request's session and language are loaded (Sessions), and every answer
 * carries a strict Content-Security-Policy (the portal's own stylesheet, no
 * script at all, forms posted to the portal itself — and the issuer, which
 * sign-out leads to), is never framed, never sniffed, sends no referrer
 * elsewhere, and HSTS in production.
 */
export function portalHttp(app: NestFastifyApplication): void {
  const config = app.get(AppConfig);
  const sessions = app.get(Sessions);
  const csp = strictCsp([config.citizenIssuer.issuer]);
  const hsts = config.portal.url.startsWith('https://');
  const fastify = app.getHttpAdapter().getInstance();
  fastify.decorateRequest('session', undefined);
  fastify.decorateRequest('lang', undefined);
  fastify.decorateRequest('langChosen', undefined);
  fastify.addHook('onRequest', async (incoming, reply) => {
    const request = incoming as PortalRequest;
    // The OpenAPI UI (/docs) runs the scripts it is made of; every page of the portal's own runs none.
    if (!request.url.startsWith('/docs')) reply.header('content-security-policy', csp);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    if (hsts) reply.header('strict-transport-security', 'max-age=31536000');
    if (!SESSIONLESS.test(request.url)) await sessions.load(request);
  });
}
