import { type DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from './data-source-options.js';

const connect = (timeouts: boolean) =>
  TypeOrmModule.forRootAsync({
    inject: [AppConfig],
    useFactory: (config: AppConfig) => ({
      ...dataSourceOptions(
        config.databaseUrl,
        config.databasePoolSize,
        config.databaseAcquireTimeoutMs,
        timeouts
          ? { statementMs: config.databaseStatementTimeoutMs, lockMs: config.databaseLockTimeoutMs }
          : {},
      ),
      autoLoadEntities: true,
    }),
  });

/**
 * The connection to PostgreSQL, built when a process asks for it: registering
 * both kinds at import time would register TypeORM's default data source twice.
 */
@Module({})
export class DatabaseModule {
  /** The apps' database: a statement that runs or waits on a lock too long fails (503) rather than hold its request. */
  static forApp(): DynamicModule {
    return { module: DatabaseModule, imports: [connect(true)] };
  }

  /**
   * The database for CLI maintenance through the domain services (erasure
   * replay, seeding): no statement or lock timeout, since an operator's
   * command must run to its end however long it takes.
   */
  static forMaintenance(): DynamicModule {
    return { module: DatabaseModule, imports: [connect(false)] };
  }
}
