import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { AppConfig } from '#libs/config';
import { bodyParsing } from './body-parsing.js';

export interface HttpAppOptions {
  title: string;
  description: string;
}

/**
 * The part of an HTTP app's setup that lives outside the module graph.
 * The app must be created with `{ bodyParser: false, bufferLogs: true }`.
 */
export function configureHttpApp(app: INestApplication, options: HttpAppOptions): void {
  const express = app as NestExpressApplication;
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  express.disable('x-powered-by');
  express.set('trust proxy', 'loopback');
  for (const handler of bodyParsing(config.bodyLimitBytes)) express.use(handler);
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
}
