import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppConfig } from '#libs/config';
import { configureHttpApp } from '#libs/http';
import { VaultAppModule } from './vault-app.module.js';

const app = await NestFactory.create(VaultAppModule.forRoot(), { bodyParser: false, bufferLogs: true });
configureHttpApp(app, {
  title: 'Une fois — vault',
  description:
    'Citizen-facing API: profile with provenance, consents, access log, preferences, export, erasure.',
});
await app.listen(app.get(AppConfig).ports.vault);
