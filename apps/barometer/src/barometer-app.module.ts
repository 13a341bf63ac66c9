import { type DynamicModule, Module } from '@nestjs/common';
import { type AppModuleOptions, ConfigModule } from '#libs/config';
import { OwnSchemaDatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';
import { BarometerMetrics } from './barometer-metrics.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { BAROMETER_SCHEMA } from './database/barometer-database.js';
import { EventStore } from './events/event-store.js';
import { EventsController } from './events/events.controller.js';
import { PlatformKeys } from './events/platform-keys.js';
import { IndicatorsController } from './indicators/indicators.controller.js';
import { IndicatorsService } from './indicators/indicators.service.js';

/**
 * Reference barometer, run as if by another organisation: it knows only the
 * signed metric events it receives (POST /v1/events), kept in a schema of
 * its own, and serves the Ambition 2 and 3 indicators from them as open data
 * (GET /v1/indicators) and as a dashboard (/).
 */
@Module({})
export class BarometerAppModule {
  static forRoot(env?: Record<string, string | undefined>, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: BarometerAppModule,
      imports: [
        ConfigModule.forRoot(env, { barometer: true, clock: options.clock }),
        OwnSchemaDatabaseModule.forRoot(BAROMETER_SCHEMA),
        HttpPlatformModule.forRoot({ redis: 'unused' }),
      ],
      controllers: [EventsController, IndicatorsController, DashboardController],
      providers: [PlatformKeys, EventStore, IndicatorsService, BarometerMetrics],
    };
  }
}
