import 'reflect-metadata';
import { AppConfig } from '#libs/config';
import { createHttpApp, listenEverywhere } from '#libs/http';
import { SchedulerAppModule } from './scheduler-app.module.js';

const app = await createHttpApp(SchedulerAppModule.forRoot(), {
  title: 'Une fois — scheduler',
  description:
    'Workers: reminder sweep and delivery, webhook delivery, metric outbox relay. Serves health and metrics only.',
});
await listenEverywhere(app, app.get(AppConfig).ports.scheduler);
