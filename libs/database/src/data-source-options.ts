import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/** Schema changes go through reviewed migrations only: never synchronize. */
export function dataSourceOptions(url: string, poolSize = 4): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migration',
    extra: { max: poolSize, application_name: 'une-fois' },
  };
}
