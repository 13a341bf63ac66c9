import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '#libs/config';
import { configureHttpApp } from '#libs/http';
import { BrokerAppModule } from './broker-app.module.js';

const app = await NestFactory.create(BrokerAppModule.forRoot(), { bodyParser: false, bufferLogs: true });
configureHttpApp(app, {
  title: 'Une fois — broker',
  description: 'Ministry-facing API: services fetch what they may reuse instead of re-asking the citizen.',
});
await app.listen(app.get(AppConfig).ports.broker);
