import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config.js';
import { Clock } from './clock.js';
import type { ConfigOptions } from './env.js';

@Global()
@Module({})
export class ConfigModule {
  /**
   * Reads the environment once. Tests pass their own variables; apps pass
   * nothing and get `process.env`. A bad value throws before anything starts.
   * Only the broker passes `issuesAccessTokens`.
   */
  static forRoot(
    raw: Record<string, string | undefined> = process.env,
    options: ConfigOptions = {},
  ): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useValue: AppConfig.fromEnvironment(raw, options) }, Clock],
      exports: [AppConfig, Clock],
    };
  }
}
