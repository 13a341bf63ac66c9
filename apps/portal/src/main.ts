import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppConfig } from '#libs/config';
import { configureHttpApp } from '#libs/http';
import { PortalAppModule } from './portal-app.module.js';
import { securePages } from './pages/security-headers.js';

const app = await NestFactory.create<NestExpressApplication>(PortalAppModule.forRoot(), {
  bodyParser: false,
  bufferLogs: true,
});
securePages(app);
configureHttpApp(app, {
  title: 'Une fois — citizen portal',
  description: 'Server-rendered pages for citizens; its data comes from the vault API.',
});
await app.listen(app.get(AppConfig).ports.portal);
