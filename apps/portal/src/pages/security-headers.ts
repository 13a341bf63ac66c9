import type { NextFunction, Request, Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig } from '#libs/config';
import { strictCsp } from '#libs/web';

/**
 * Headers every answer of the portal carries: a strict Content-Security-
 * Policy (the portal's own stylesheet, no script at all, forms posted to
 * the portal itself — and the issuer, which sign-out leads to), never
 * framed, no sniffing, no referrer sent elsewhere, and HSTS in production.
 */
export function securePages(app: NestExpressApplication): void {
  const config = app.get(AppConfig);
  const csp = strictCsp([config.citizenIssuer.issuer]);
  app.use((request: Request, response: Response, next: NextFunction) => {
    // The OpenAPI UI (/docs) runs the scripts it is made of; every page of the portal's own runs none.
    if (!request.path.startsWith('/docs')) response.setHeader('content-security-policy', csp);
    response.setHeader('x-content-type-options', 'nosniff');
    response.setHeader('x-frame-options', 'DENY');
    response.setHeader('referrer-policy', 'same-origin');
    if (config.portal.url.startsWith('https://'))
      response.setHeader('strict-transport-security', 'max-age=31536000');
    next();
  });
}
