import type { DataSourceOptions } from 'typeorm';
import { DatabaseClient } from './database-unavailable.js';
import { MIGRATIONS } from './migrations/index.js';

/** Server-side limits on each statement of a connection; none when unset (migrations, CLI maintenance). */
export interface StatementTimeouts {
  /** PostgreSQL's statement_timeout: a statement running longer is cancelled (SQLSTATE 57014). */
  statementMs?: number;
  /** PostgreSQL's lock_timeout: a wait for a lock longer than this fails (SQLSTATE 55P03). */
  lockMs?: number;
}

/**
 * Schema changes go through reviewed migrations only: never synchronize.
 * A query waits at most `acquireTimeoutMs` for a connection, and the apps give
 * each statement `timeouts`, so an exhausted pool, an unreachable server or a
 * lock held too long fails the request (503) instead of holding it and its
 * connection.
 */
export function dataSourceOptions(
  url: string,
  poolSize = 4,
  acquireTimeoutMs = 5000,
  timeouts: StatementTimeouts = {},
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    synchronize: false,
    migrationsRun: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'migration',
    extra: {
      max: poolSize,
      // Connections are kept while idle (pg's pool closes them after 10 s): a new backend plans its named
      // statements again and maps the server's shared buffers page by page as it touches them. At a million
      // citizens, a broker meeting new backends after a lull took 1.5 times the CPU per request
      // (docs/scaling.md). A connection the server ends still leaves the pool at its first error.
      idleTimeoutMillis: 0,
      application_name: 'une-fois',
      connectionTimeoutMillis: acquireTimeoutMs,
      // Sent at connection start-up, so they hold for every statement, in or out of a transaction.
      ...(timeouts.statementMs ? { statement_timeout: timeouts.statementMs } : {}),
      ...(timeouts.lockMs ? { lock_timeout: timeouts.lockMs } : {}),
      // Connection failures are told apart from other network failures (isDatabaseUnavailable).
      Client: DatabaseClient,
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
