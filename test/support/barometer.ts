import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppModuleOptions } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { type MetricCloudEvent, signMetricEvents } from '#libs/metrics';
import { BarometerAppModule } from '../../apps/barometer/src/barometer-app.module.js';
import { type RunningApp, startApp } from './apps.js';
import type { TestDatabase } from './database.js';

/** A platform signing key of its own, as SIGNING_KEYS holds one. */
export function newSigningKey(kid: string) {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid };
}

/** Serves a platform's JWKS, as the broker's /.well-known/jwks.json does; `up` false answers 503. */
export class JwksServer {
  up = true;
  private server: Server | null = null;
  url = '';

  constructor(private readonly signer: PlatformSigner) {}

  async start(): Promise<this> {
    this.server = createServer((_request, response) => {
      if (!this.up) {
        response.writeHead(503).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.signer.jwks()));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Boots the barometer on a test database (its own schema there), trusting the keys at `jwksUrl`. */
export function startBarometer(
  db: TestDatabase,
  jwksUrl: string,
  env: Record<string, string> = {},
  options: AppModuleOptions = {},
): Promise<RunningApp> {
  return startApp(
    BarometerAppModule.forRoot(
      {
        NODE_ENV: 'test',
        DATABASE_URL: db.url,
        PLATFORM_JWKS_URL: jwksUrl,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        ...env,
      },
      options,
    ),
  );
}

/** A metric event as the relay writes it. */
export function metricEvent(
  type: string,
  data: MetricCloudEvent['data'],
  time = new Date(),
): MetricCloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: '/une-fois',
    type,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/** What the relay POSTs: the body and its headers. */
export async function signedBatch(events: unknown[], signer: PlatformSigner) {
  const { body, signature } = await signMetricEvents(events as MetricCloudEvent[], signer);
  return {
    body,
    headers: { 'content-type': 'application/cloudevents-batch+json', 'x-jws-signature': signature },
  };
}
