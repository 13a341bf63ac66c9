import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '#libs/config';
import { bodyParsing } from './body-parsing.js';
import { MetricsRegistry } from './metrics.js';

export interface HttpAppOptions {
  title: string;
  description: string;
  /** Hooks of the app's own on the HTTP server (the portal's security headers), added before any route. */
  setup?: (app: NestFastifyApplication) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The correlation id of a request: the caller's `x-request-id` when it is a
 * plain token, else a new UUID. Kept on the raw request too, where the
 * request logger (pino-http) takes it from.
 */
function requestId(raw: IncomingMessage): string {
  const given = raw.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  (raw as IncomingMessage & { id: string }).id = id;
  return id;
}

/**
 * Every HTTP app, as its main.ts and the tests boot it: Nest on Fastify,
 * trusting a proxy on loopback only, with the shared body parsing, metrics,
 * logger and OpenAPI document (at /openapi.json, UI at /docs).
 */
export async function createHttpApp(
  module: DynamicModule | Type,
  options: HttpAppOptions,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ trustProxy: 'loopback', genReqId: requestId });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    bodyParser: false,
    bufferLogs: true,
  });
  const fastify = app.getHttpAdapter().getInstance();
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  bodyParsing(fastify, config.bodyLimitBytes);
  // Every answer names its request's correlation id, which the log lines and a 500's problem carry.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  const metrics = app.get(MetricsRegistry);
  // By route pattern, never by path: labels carry no identifier.
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  options.setup?.(app);
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(options.title)
      .setDescription(options.description)
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', raw: ['json'] });
  return app;
}

/**
 * Listens on every interface, as a server in a container must (Fastify's own
 * default is loopback only): IPv6 and IPv4 where the host has both, IPv4 alone
 * where it has no IPv6.
 */
export async function listenEverywhere(app: NestFastifyApplication, port: number): Promise<void> {
  try {
    await app.listen(port, '::');
  } catch (error) {
    if ((error as { code?: string }).code !== 'EAFNOSUPPORT') throw error;
    await app.listen(port, '0.0.0.0');
  }
}
