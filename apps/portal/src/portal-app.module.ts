import { type DynamicModule, Module } from '@nestjs/common';
import { type AppModuleOptions, ConfigModule } from '#libs/config';
import { OwnSchemaDatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';
import { AuthController } from './auth/auth.controller.js';
import { OidcClient } from './auth/oidc-client.js';
import { PORTAL_SCHEMA } from './database/portal-schema.js';
import { AccessController } from './pages/access.controller.js';
import { ConsentsController } from './pages/consents.controller.js';
import { DataController } from './pages/data.controller.js';
import { DeadlinesController } from './pages/deadlines.controller.js';
import { HomeController } from './pages/home.controller.js';
import { NotFoundModule } from './pages/not-found.controller.js';
import { Pages } from './pages/pages.service.js';
import { PreferencesController } from './pages/preferences.controller.js';
import { ProfileController } from './pages/profile.controller.js';
import { RequestsController } from './pages/requests.controller.js';
import { SessionStore } from './session/session.store.js';
import { Sessions } from './session/sessions.js';
import { AccessLogCheck } from './vault/access-log-check.js';
import { CatalogueNames } from './vault/catalogue-names.js';
import { VaultClient } from './vault/vault-client.js';

/**
 * The citizen portal: server-rendered pages, a backend-for-frontend whose
 * only way to a citizen's data is the vault's API, called with the
 * citizen's own token (signed in at CITIZEN_ISSUER). It keeps its sessions
 * in a schema of its own, and none of the platform's secrets.
 */
@Module({})
export class PortalAppModule {
  static forRoot(env?: Record<string, string | undefined>, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: PortalAppModule,
      imports: [
        ConfigModule.forRoot(env, { portal: true, clock: options.clock }),
        OwnSchemaDatabaseModule.forRoot(PORTAL_SCHEMA),
        HttpPlatformModule.forRoot({ redis: 'unused' }),
        NotFoundModule,
      ],
      controllers: [
        HomeController,
        AuthController,
        ProfileController,
        ConsentsController,
        RequestsController,
        AccessController,
        DeadlinesController,
        PreferencesController,
        DataController,
      ],
      providers: [SessionStore, Sessions, Pages, VaultClient, CatalogueNames, AccessLogCheck, OidcClient],
    };
  }
}
