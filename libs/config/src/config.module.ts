import { type DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config.js';
import { Clock } from './clock.js';
import type { ConfigOptions } from './env.js';

/** What a test can give an app module besides its environment. */
export interface AppModuleOptions {
  /** Replaces the wall clock (a ManualClock). */
  clock?: Clock;
}

@Global()
@Module({})
export class ConfigModule {
  /**
   * Reads the environment once. Tests pass their own variables; apps pass
   * nothing and get `process.env`. A bad value throws before anything starts.
   * Only the broker passes `issuesAccessTokens`. A test or benchmark passes
   * its own `clock` (a ManualClock) to move time.
   */
  static forRoot(
    raw: Record<string, string | undefined> = process.env,
    { clock, ...options }: ConfigOptions & { clock?: Clock } = {},
  ): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: AppConfig.fromEnvironment(raw, options) },
        clock ? { provide: Clock, useValue: clock } : Clock,
      ],
      exports: [AppConfig, Clock],
    };
  }
}
