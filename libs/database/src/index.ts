export { dataSourceOptions } from './data-source-options.js';
export { DatabaseModule } from './database.module.js';
export { isDatabaseUnavailable } from './database-unavailable.js';
export { MIGRATIONS } from './migrations/index.js';
