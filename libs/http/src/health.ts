import { Controller, Get, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { Redis } from 'ioredis';
import pg from 'pg';
import { AppConfig } from '#libs/config';
import { Public } from './public.decorator.js';

/**
 * Each dependency check gives up after this long, and they run side by side,
 * so /health answers within a second even when a dependency hangs.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 500;

/**
 * What Redis is to the app: `required` (down fails readiness), `optional`
 * (the app serves without it: down is `degraded`, readiness stays OK) or
 * `unused` (not checked at all).
 */
export type RedisUse = 'required' | 'optional' | 'unused';
export const REDIS_USE = Symbol('REDIS_USE');

/** Races `work` against HEALTH_CHECK_TIMEOUT_MS; `onTimeout` drops whatever hangs. */
async function withinTimeout<T>(work: Promise<T>, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`no answer within ${HEALTH_CHECK_TIMEOUT_MS} ms`));
    }, HEALTH_CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * PostgreSQL, pinged on a connection of its own rather than one of the
 * request pool: requests may wait for a pooled connection for
 * DATABASE_ACQUIRE_TIMEOUT_MILLISECONDS, so a saturated pool is a busy app, not
 * a database that is down. The connection is kept between checks, and dropped
 * when it fails or hangs.
 */
@Injectable()
export class DatabaseHealthIndicator implements OnModuleDestroy {
  private client: pg.Client | null = null;
  private ready: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: AppConfig,
    private readonly indicators: HealthIndicatorService,
  ) {}

  async check(key = 'database') {
    const indicator = this.indicators.check(key);
    const client = this.connection();
    try {
      await withinTimeout(
        (async () => {
          await this.ready; // checks that overlap share one connection attempt
          await client.query('SELECT 1');
        })(),
        () => this.drop(client),
      );
      return indicator.up();
    } catch (error) {
      this.drop(client);
      return indicator.down({ message: (error as Error).message });
    }
  }

  private connection(): pg.Client {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.config.databaseUrl,
      application_name: 'une-fois-health',
      connectionTimeoutMillis: HEALTH_CHECK_TIMEOUT_MS,
      statement_timeout: HEALTH_CHECK_TIMEOUT_MS,
      keepAlive: true,
    });
    // A connection that dies between checks is reported by the next check, not as an unhandled event.
    client.on('error', () => this.drop(client));
    this.client = client;
    this.ready = client.connect();
    this.ready.catch(() => undefined); // awaited by the check that needs it
    return client;
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    // Destroyed, not ended: a server that never answers would never acknowledge a polite goodbye.
    client.connection.stream.destroy();
  }

  onModuleDestroy(): void {
    if (this.client) this.drop(this.client);
  }
}

@Injectable()
export class RedisHealthIndicator implements OnModuleDestroy {
  private client: Redis | null = null;
  private ready: Promise<void> = Promise.resolve();
  /** ioredis reports why a connection failed as an event; the promise only says it closed. */
  private lastError: string | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_USE) private readonly use: RedisUse,
  ) {}

  async check(key = 'redis') {
    const indicator = this.indicators.check(key);
    let timedOut = false;
    try {
      const client = this.connection();
      // A Redis that accepts but never answers leaves the client stuck: start afresh next time.
      await withinTimeout(this.ping(client), () => {
        timedOut = true;
        this.drop(client);
      });
      return indicator.up();
    } catch (error) {
      const message = (!timedOut && this.lastError) || (error as Error).message;
      return this.use === 'required' ? indicator.down({ message }) : indicator.degraded({ message });
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
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    @Inject(REDIS_USE) private readonly redisUse: RedisUse,
  ) {}

  /**
   * Liveness plus readiness: 503 when PostgreSQL is down, or Redis for an app
   * that needs it (the scheduler); the vault and the broker serve without
   * Redis and report it `degraded`; the barometer does not use it.
   */
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.database.check(),
      ...(this.redisUse === 'unused' ? [] : [() => this.redis.check()]),
    ]);
  }
}
