import 'reflect-metadata';
import { AppConfig } from '#libs/config';
import { createHttpApp, listenEverywhere } from '#libs/http';
import { VaultAppModule } from './vault-app.module.js';

const app = await createHttpApp(VaultAppModule.forRoot(), {
  title: 'Une fois — vault',
  description:
    'Citizen-facing API: profile with provenance, consents, access log, preferences, export, erasure.',
});
await listenEverywhere(app, app.get(AppConfig).ports.vault);
