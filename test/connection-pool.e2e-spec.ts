import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { dataSourceOptions } from '#libs/database';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';

/** The apps' connection pool, as dataSourceOptions configures it, against the real server. */
describe('The apps’ connection pool', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase('connpool');
    dataSource = await new DataSource(dataSourceOptions(db.url, 2)).initialize();
    pool = (dataSource.driver as PostgresDriver).master as pg.Pool;
  });
  afterAll(async () => {
    jest.useRealTimers();
    await dataSource.destroy();
    await db.drop();
  });

  const backend = async (): Promise<number> =>
    (await dataSource.query('SELECT pg_backend_pid() AS pid'))[0].pid as number;

  it('keeps a connection that has been idle for ten minutes: the same backend answers', async () => {
    // Sockets and promises run as usual; the pool's idle timers are the clock's.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const before = await backend();
    jest.advanceTimersByTime(10 * 60_000);
    jest.useRealTimers();
    expect(pool.idleCount).toBe(1);
    expect(await backend()).toBe(before);
  });

  it('drops an idle connection the server ended and answers the next query on a new one', async () => {
    const before = await backend();
    await withClient(db.url, (client) => client.query('SELECT pg_terminate_backend($1)', [before]));
    for (let waited = 0; pool.totalCount > 0 && waited < 5000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pool.totalCount).toBe(0);
    const after = await backend();
    expect(after).not.toBe(before);
  });
});
