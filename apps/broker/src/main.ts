import 'reflect-metadata';
import { AppConfig } from '#libs/config';
import { createHttpApp, listenEverywhere } from '#libs/http';
import { BrokerAppModule } from './broker-app.module.js';

const app = await createHttpApp(BrokerAppModule.forRoot(), {
  title: 'Une fois — broker',
  description: 'Ministry-facing API: services fetch what they may reuse instead of re-asking the citizen.',
});
await listenEverywhere(app, app.get(AppConfig).ports.broker);
