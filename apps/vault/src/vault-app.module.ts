import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessLogModule } from '#libs/access-log';
import { CatalogueModule } from '#libs/catalogue';
import { ChannelsModule } from '#libs/channels';
import { type AppModuleOptions, ConfigModule } from '#libs/config';
import { ConsentModule } from '#libs/consent';
import { CryptoModule } from '#libs/crypto';
import { DatabaseModule } from '#libs/database';
import { ErasureModule } from '#libs/erasure';
import { HttpPlatformModule } from '#libs/http';
import { IdentityModule } from '#libs/identity';
import { MetricsModule } from '#libs/metrics';
import { RemindersModule } from '#libs/reminders';
import { VaultModule } from '#libs/vault';
import { CitizenAuthGuard, CitizenResolver } from './auth/citizen-auth.guard.js';
import { CalendarFeedsController } from './calendar-feeds/calendar-feeds.controller.js';
import { AccessLogController } from './me/access-log.controller.js';
import { CitizenDataService } from './me/citizen-data.service.js';
import { ConsentRequestsController } from './me/consent-requests.controller.js';
import { ConsentsController } from './me/consents.controller.js';
import { DeadlinesController } from './me/deadlines.controller.js';
import { MeController } from './me/me.controller.js';
import { CatalogueController } from './well-known/catalogue.controller.js';
import { CheckpointsController } from './well-known/checkpoints.controller.js';
import { WellKnownController } from './well-known/well-known.controller.js';

@Module({})
export class VaultAppModule {
  /** `env` defaults to the process environment; tests pass their own. */
  static forRoot(env?: Record<string, string | undefined>, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: VaultAppModule,
      imports: [
        ConfigModule.forRoot(env, { clock: options.clock }),
        DatabaseModule.forApp(),
        CryptoModule,
        CatalogueModule,
        IdentityModule,
        HttpPlatformModule.forRoot({ redis: 'optional' }),
        VaultModule,
        ConsentModule,
        AccessLogModule,
        ErasureModule,
        MetricsModule,
        RemindersModule,
        ChannelsModule,
      ],
      controllers: [
        MeController,
        ConsentsController,
        ConsentRequestsController,
        AccessLogController,
        DeadlinesController,
        CalendarFeedsController,
        WellKnownController,
        CheckpointsController,
        CatalogueController,
      ],
      providers: [CitizenDataService, CitizenResolver, { provide: APP_GUARD, useClass: CitizenAuthGuard }],
    };
  }
}
