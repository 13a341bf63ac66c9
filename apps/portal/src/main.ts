import 'reflect-metadata';
import { AppConfig } from '#libs/config';
import { createHttpApp, listenEverywhere } from '#libs/http';
import { PortalAppModule } from './portal-app.module.js';
import { portalHttp } from './portal-http.js';

const app = await createHttpApp(PortalAppModule.forRoot(), {
  setup: portalHttp,
  title: 'Une fois — citizen portal',
  description: 'Server-rendered pages for citizens; its data comes from the vault API.',
});
await listenEverywhere(app, app.get(AppConfig).ports.portal);
