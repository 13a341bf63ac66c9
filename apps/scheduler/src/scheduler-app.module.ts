import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';

/** Workers: reminder sweep and delivery, webhook delivery, metric outbox relay. Serves health and metrics only. */
@Module({})
export class SchedulerAppModule {
  static forRoot(env?: Record<string, string | undefined>): DynamicModule {
    return {
      module: SchedulerAppModule,
      imports: [ConfigModule.forRoot(env), DatabaseModule, HttpPlatformModule],
    };
  }
}
