import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';

/** Ministry-facing API: services fetch what they may reuse instead of re-asking the citizen. */
@Module({})
export class BrokerAppModule {
  static forRoot(env?: Record<string, string | undefined>): DynamicModule {
    return {
      module: BrokerAppModule,
      imports: [ConfigModule.forRoot(env), DatabaseModule, HttpPlatformModule],
    };
  }
}
