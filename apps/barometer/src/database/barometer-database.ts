import type { OwnSchema } from '#libs/database';
import { BarometerEvents1764600000000 } from './migrations/1764600000000-barometer-events.js';

/**
 * The barometer's own schema and its migrations, oldest first: it never
 * reads a table of the platform's, even in a shared database.
 */
export const BAROMETER_SCHEMA: OwnSchema = {
  name: 'barometer',
  migrations: [BarometerEvents1764600000000],
};
