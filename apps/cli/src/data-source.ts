import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from '#libs/database';

/** For the TypeORM CLI (`npm run migration:generate -- libs/database/src/migrations/Name`). */
export default new DataSource({
  ...dataSourceOptions(AppConfig.fromEnvironment(process.env).databaseUrl),
  entities: ['dist/libs/*/src/**/*.entity.js'],
});
