import { DataSource, type EntityManager } from 'typeorm';

interface Queryable {
  query<T>(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
}

/**
 * Runs a named statement, parsed and planned once per connection: on the
 * connection of `on`'s query runner (a transaction, say), or, given the
 * data source or a manager with no runner of its own, on any connection of
 * the pool for the time of the statement. For the hot paths, which bypass
 * TypeORM's query building.
 */
export async function preparedQuery<T>(
  on: DataSource | EntityManager,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const runner = on instanceof DataSource ? undefined : on.queryRunner;
  const client: Queryable = runner
    ? ((await runner.connect()) as Queryable)
    : ((on instanceof DataSource ? on : on.connection).driver as unknown as { master: Queryable }).master;
  return (await client.query<T>({ name, text, values })).rows;
}
