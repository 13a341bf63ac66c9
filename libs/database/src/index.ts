export { dataSourceOptions, type StatementTimeouts } from './data-source-options.js';
export { DatabaseModule } from './database.module.js';
export { isDatabaseUnavailable } from './database-unavailable.js';
export { MIGRATIONS } from './migrations/index.js';
export { Batcher } from './batcher.js';
export { preparedQuery } from './prepared-query.js';
export { type OwnSchema, OwnSchemaDatabaseModule } from './own-schema.module.js';
