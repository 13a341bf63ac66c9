import { Module } from '@nestjs/common';
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

/** The apps' database: a statement that runs or waits on a lock too long fails (503) rather than hold its request. */
@Module({ imports: [connect(true)] })
export class DatabaseModule {}

/**
 * The database for CLI maintenance through the domain services (erasure
 * replay, seeding): no statement or lock timeout, since an operator's command
 * must run to its end however long it takes.
 */
@Module({ imports: [connect(false)] })
export class MaintenanceDatabaseModule {}
