import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';

/** Reference barometer: ingests metric events, serves the Ambition 2 and 3 indicators. */
@Module({})
export class BarometerAppModule {
  static forRoot(env?: Record<string, string | undefined>): DynamicModule {
    return {
      module: BarometerAppModule,
      imports: [
        ConfigModule.forRoot(env),
        DatabaseModule.forApp(),
        HttpPlatformModule.forRoot({ redis: 'unused' }),
      ],
    };
  }
}
