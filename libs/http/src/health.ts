import { Controller, Get, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { Redis } from 'ioredis';
import { AppConfig } from '#libs/config';
import { Public } from './public.decorator.js';

/**
 * Each dependency check gives up after this long, and they run side by side,
 * so /health answers within a second even when a dependency hangs.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 500;

/** Whether the app can serve without Redis: then Redis down is `degraded`, and readiness stays OK. */
export const REDIS_REQUIRED = Symbol('REDIS_REQUIRED');

@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private client: Redis | null = null;
  private ready: Promise<void> = Promise.resolve();
  /** ioredis reports why a connection failed as an event; the promise only says it closed. */
  private lastError: string | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_REQUIRED) private readonly required: boolean,
  ) {}

  async check(key = 'redis') {
    const indicator = this.indicators.check(key);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      const client = this.connection();
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          // A Redis that accepts but never answers leaves the client stuck: start afresh next time.
          this.drop(client);
          reject(new Error(`no answer within ${HEALTH_CHECK_TIMEOUT_MS} ms`));
        }, HEALTH_CHECK_TIMEOUT_MS);
      });
      await Promise.race([this.ping(client), timeout]);
      return indicator.up();
    } catch (error) {
      const message = (!timedOut && this.lastError) || (error as Error).message;
      return this.required ? indicator.down({ message }) : indicator.degraded({ message });
    } finally {
      clearTimeout(timer);
    }
  }

  private async ping(client: Redis): Promise<void> {
    await this.ready; // checks that overlap share one connection attempt
    await client.ping();
  }

  private connection(): Redis {
    if (this.client && this.client.status !== 'end') return this.client;
    this.lastError = null;
    const client = new Redis(this.config.redisUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      connectTimeout: HEALTH_CHECK_TIMEOUT_MS,
      // No background reconnection: each health check connects again if it has to.
      retryStrategy: () => null,
    });
    // Reported through the health check, not as an unhandled event.
    client.on('error', (error: Error) => (this.lastError = error.message));
    this.client = client;
    this.ready = client.connect();
    this.ready.catch(() => undefined); // awaited by the check that needs it
    return client;
  }

  private drop(client: Redis): void {
    client.disconnect();
    if (this.client === client) this.client = null;
  }

  async onModuleDestroy(): Promise<void> {
    this.client?.disconnect();
  }
}

@Public()
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /**
   * Liveness plus readiness: 503 when PostgreSQL is down, or Redis for an app
   * that needs it (the scheduler); the vault and the broker serve without
   * Redis and report it `degraded`.
   */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: HEALTH_CHECK_TIMEOUT_MS }),
      () => this.redis.check(),
    ]);
  }
}
