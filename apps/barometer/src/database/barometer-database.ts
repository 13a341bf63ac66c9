import { type DynamicModule, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from '#libs/database';
import { BarometerEvents1764600000000 } from './migrations/1764600000000-barometer-events.js';

/** The barometer's own schema: it never reads a table of the platform's, even in a shared database. */
export const BAROMETER_SCHEMA = 'barometer';

/** The barometer's migrations, oldest first; they run at its boot. */
export const BAROMETER_MIGRATIONS = [BarometerEvents1764600000000];

/** Two barometer processes booting at once migrate one after the other. */
const MIGRATION_LOCK = 0x6261726f6d;

/** Brings the barometer's schema to date before it serves, under a lock so replicas do not race. */
@Injectable()
export class BarometerSchema implements OnApplicationBootstrap {
  private readonly logger = new Logger(BarometerSchema.name);

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await runner.query(`CREATE SCHEMA IF NOT EXISTS ${BAROMETER_SCHEMA}`);
      const applied = await this.dataSource.runMigrations({ transaction: 'all' });
      for (const migration of applied) this.logger.log(`migrated: ${migration.name}`);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      await runner.release();
    }
  }
}

/** The barometer's connection: its own schema, migrations and migrations table. */
@Module({})
export class BarometerDatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: BarometerDatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(
              config.databaseUrl,
              config.databasePoolSize,
              config.databaseAcquireTimeoutMs,
              {
                statementMs: config.databaseStatementTimeoutMs,
                lockMs: config.databaseLockTimeoutMs,
              },
            ),
            schema: BAROMETER_SCHEMA,
            migrations: BAROMETER_MIGRATIONS,
            migrationsTableName: 'migration',
          }),
        }),
      ],
      providers: [BarometerSchema],
    };
  }
}
