import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessLogModule } from '#libs/access-log';
import { CatalogueModule } from '#libs/catalogue';
import { type AppModuleOptions, ConfigModule } from '#libs/config';
import { ConsentModule } from '#libs/consent';
import { CryptoModule } from '#libs/crypto';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';
import { IdentityModule, ServiceAuthModule } from '#libs/identity';
import { MetricsModule } from '#libs/metrics';
import { OutboxModule } from '#libs/outbox';
import { ReleaseModule } from '#libs/release';
import { RemindersModule } from '#libs/reminders';
import { VaultModule } from '#libs/vault';
import { ServiceAuthGuard } from './auth/service-auth.guard.js';
import { AuthoritativeWritesService } from './citizens/authoritative-writes.service.js';
import { CitizenAttributesController } from './citizens/citizen-attributes.controller.js';
import { CollectionsController } from './collections/collections.controller.js';
import { CollectionsService } from './collections/collections.service.js';
import { ConsentRequestsController } from './consent-requests/consent-requests.controller.js';
import { DataRequestsController } from './data-requests/data-requests.controller.js';
import { DeadlinesController } from './deadlines/deadlines.controller.js';
import { TokenController } from './oauth/token.controller.js';
import { WellKnownController } from './well-known/well-known.controller.js';

/** Ministry-facing API: services fetch what they may reuse instead of re-asking the citizen. */
@Module({})
export class BrokerAppModule {
  static forRoot(env?: Record<string, string | undefined>, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: BrokerAppModule,
      imports: [
        ConfigModule.forRoot(env, { issuesAccessTokens: true, clock: options.clock }),
        DatabaseModule.forApp(),
        CryptoModule,
        CatalogueModule,
        IdentityModule,
        ServiceAuthModule,
        HttpPlatformModule.forRoot({ redis: 'optional' }),
        VaultModule,
        ConsentModule,
        AccessLogModule,
        OutboxModule,
        ReleaseModule,
        MetricsModule,
        RemindersModule,
      ],
      controllers: [
        TokenController,
        WellKnownController,
        ConsentRequestsController,
        DataRequestsController,
        CitizenAttributesController,
        CollectionsController,
        DeadlinesController,
      ],
      providers: [
        AuthoritativeWritesService,
        CollectionsService,
        { provide: APP_GUARD, useClass: ServiceAuthGuard },
      ],
    };
  }
}
