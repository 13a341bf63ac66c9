import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { IncomingMessage } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '#libs/config';
import {
  DatabaseHealthIndicator,
  HealthController,
  REDIS_USE,
  RedisHealthIndicator,
  type RedisUse,
} from './health.js';
import { MetricsController, MetricsRegistry } from './metrics.js';
import { ProblemFilter } from './problem.filter.js';
import { loggedPath } from './request-log.js';
import { StrictValidationPipe } from './validation.pipe.js';

export interface HttpPlatformOptions {
  /**
   * `required`: Redis down fails readiness; `optional` for an app that serves
   * without it (/health reports it `degraded`); `unused`: not checked.
   */
  redis: RedisUse;
}

/**
 * What every HTTP app shares: JSON request logs with a correlation id,
 * problem+json errors, strict validation, /health and /metrics. Imported
 * through `forRoot` only, which says what Redis is to the app (imported bare,
 * the app fails to boot: REDIS_USE has no provider).
 */
@Module({
  imports: [
    TerminusModule.forRoot({ errorLogStyle: 'json', logger: false }),
    LoggerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // Never a token, a cookie or a body in a log line.
          serializers: {
            req: (request: { id: string; method: string; url: string }) => ({
              id: request.id,
              method: request.method,
              path: loggedPath(request.url),
            }),
            res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
          },
          autoLogging: {
            ignore: (request: IncomingMessage) => request.url === '/health' || request.url === '/metrics',
          },
        },
      }),
    }),
  ],
  controllers: [HealthController, MetricsController],
  providers: [
    DatabaseHealthIndicator,
    RedisHealthIndicator,
    MetricsRegistry,
    { provide: APP_FILTER, useClass: ProblemFilter },
    { provide: APP_PIPE, useClass: StrictValidationPipe },
  ],
  exports: [MetricsRegistry],
})
export class HttpPlatformModule {
  static forRoot(options: HttpPlatformOptions): DynamicModule {
    return { module: HttpPlatformModule, providers: [{ provide: REDIS_USE, useValue: options.redis }] };
  }
}
