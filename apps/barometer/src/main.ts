import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '#libs/config';
import { configureHttpApp } from '#libs/http';
import { BarometerAppModule } from './barometer-app.module.js';

const app = await NestFactory.create(BarometerAppModule.forRoot(), { bodyParser: false, bufferLogs: true });
configureHttpApp(app, {
  title: 'Une fois — barometer',
  description: 'Reference barometer: ingests metric events, serves the Ambition 2 and 3 indicators.',
});
await app.listen(app.get(AppConfig).ports.barometer);
