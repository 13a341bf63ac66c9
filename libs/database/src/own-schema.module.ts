import { createHash } from 'node:crypto';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type MigrationInterface } from 'typeorm';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from './data-source-options.js';

export interface OwnSchema {
  /** The schema's name: its tables are named `<schema>.<table>` in SQL. */
  name: string;
  /** Its migrations, oldest first; their table is `<schema>.migration`. */
  migrations: (new () => MigrationInterface)[];
}

const OWN_SCHEMA = Symbol('OWN_SCHEMA');

/** The advisory lock under which one process at a time migrates the schema: a key derived from its name. */
function migrationLock(schema: string): bigint {
  return createHash('sha256').update(`une-fois schema ${schema}`).digest().readBigInt64BE(0);
}

/** Brings the schema to date before the app serves, under a lock so replicas booting together do not race. */
@Injectable()
class OwnSchemaMigrator implements OnApplicationBootstrap {
  private readonly logger = new Logger(OwnSchemaMigrator.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(OWN_SCHEMA) private readonly schema: OwnSchema,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    const lock = String(migrationLock(this.schema.name));
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [lock]);
      await runner.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema.name}`);
      const applied = await this.dataSource.runMigrations({ transaction: 'all' });
      for (const migration of applied) this.logger.log(`migrated: ${migration.name}`);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
      await runner.release();
    }
  }
}

/**
 * The connection of an app that keeps its tables apart from the platform's
 * — the reference barometer, as another organisation would run it, and the
 * portal's sessions: a schema of its own, with its own migrations, run at
 * the app's boot (there is no CLI step for them), and its own migrations
 * table. It reads no table of the platform's, even in a shared database.
 */
@Module({})
export class OwnSchemaDatabaseModule {
  static forRoot(schema: OwnSchema): DynamicModule {
    return {
      module: OwnSchemaDatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            ...dataSourceOptions(config.databaseUrl, config.databasePoolSize, config.databaseAcquireTimeoutMs, {
              statementMs: config.databaseStatementTimeoutMs,
              lockMs: config.databaseLockTimeoutMs,
            }),
            schema: schema.name,
            migrations: schema.migrations,
            migrationsTableName: 'migration',
          }),
        }),
      ],
      providers: [{ provide: OWN_SCHEMA, useValue: schema }, OwnSchemaMigrator],
    };
  }
}
