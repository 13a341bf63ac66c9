import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '#libs/config';
import { configureHttpApp } from '#libs/http';
import { SchedulerAppModule } from './scheduler-app.module.js';

const app = await NestFactory.create(SchedulerAppModule.forRoot(), { bodyParser: false, bufferLogs: true });
configureHttpApp(app, {
  title: 'Une fois — scheduler',
  description:
    'Workers: reminder sweep and delivery, webhook delivery, metric outbox relay. Serves health and metrics only.',
});
await app.listen(app.get(AppConfig).ports.scheduler);
