import type pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';

interface Queryable {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

/**
 * Runs a named statement, parsed and planned once per connection: on the
 * connection of `on`'s query runner (a transaction, say), or, given the
 * data source, on any connection of its pool for the time of the statement.
 * For the hot paths, which bypass TypeORM's query building.
 */
export async function preparedQuery<T>(
  on: DataSource | EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const client: Queryable =
    on instanceof DataSource
      ? ((on.driver as unknown as { master: pg.Pool }).master as unknown as Queryable)
      : ((await on.queryRunner!.connect()) as Queryable);
  return (await client.query<T>({ name, text, values })).rows;
}
