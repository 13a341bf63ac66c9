import 'reflect-metadata';
import { AppConfig } from '#libs/config';
import { createHttpApp, listenEverywhere } from '#libs/http';
import { BarometerAppModule } from './barometer-app.module.js';

const app = await createHttpApp(BarometerAppModule.forRoot(), {
  title: 'Une fois — barometer',
  description: 'Reference barometer: ingests metric events, serves the Ambition 2 and 3 indicators.',
});
await listenEverywhere(app, app.get(AppConfig).ports.barometer);
