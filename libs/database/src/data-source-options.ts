import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

/**
 * Schema changes go through reviewed migrations only: never synchronize.
 * A query waits at most `acquireTimeoutMs` for a connection, so an exhausted
 * pool or an unreachable server fails the request (503) instead of holding it.
 */
export function dataSourceOptions(url: string, poolSize = 4, acquireTimeoutMs = 5000): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migration',
    extra: {
      max: poolSize,
      application_name: 'une-fois',
      connectionTimeoutMillis: acquireTimeoutMs,
      // Idle connections survive firewalls and NAT, and the kernel notices a peer that vanished.
      keepAlive: true,
      // A connection can die at any moment (a terminated backend, a restart); an 'error' event nobody
      // listens to ends the process. The query in flight, or the pool for an idle one, still sees it.
      onConnect: (client: { on(event: 'error', listener: () => void): unknown }) => {
        client.on('error', () => undefined);
      },
    },
  };
}
