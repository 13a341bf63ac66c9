import net from 'node:net';
import pg from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { dataSourceOptions } from './data-source-options.js';
import { DatabaseClient, isDatabaseUnavailable } from './database-unavailable.js';

/** An error as the server sends it (pg's DatabaseError, with its SQLSTATE). */
const serverError = (message: string, code: string) =>
  Object.assign(new pg.DatabaseError(message, message.length, 'error'), { code });
/** An error with a code, from nowhere in particular: a socket's, an outbound call's. */
const codedError = (message: string, code?: string) =>
  Object.assign(new Error(message), code ? { code } : {});
const failed = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

/** A loopback port nothing listens on (one just freed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the apps' pool client gives when the server refuses the connection. */
async function refusedConnection(): Promise<unknown> {
  const port = await closedPort();
  const client = new DatabaseClient({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  return client.connect().then(
    () => new Error('connected to a closed port'),
    (error: unknown) => error,
  );
}

/**
 * What a named statement sent straight to the driver (no TypeORM around it)
 * gives when its connection is reset mid-query. The server is stood in for
 * by a socket that accepts the startup (AuthenticationOk, ReadyForQuery) and
 * resets at the first query.
 */
async function resetUnderRawQuery(through: 'client' | 'pool'): Promise<unknown> {
  const ready = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49]);
  const server = net.createServer((socket) => {
    socket.once('data', () => {
      socket.write(ready);
      socket.once('data', () => socket.resetAndDestroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const config = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
  const probe = { name: 'probe', text: 'SELECT 1' };
  let asked: Promise<unknown>;
  let pool: pg.Pool | undefined;
  if (through === 'client') {
    const client = new DatabaseClient(config);
    client.on('error', () => undefined);
    await client.connect();
    asked = client.query(probe);
  } else {
    // As a named statement on the data source runs: the pool's query, which calls the client's with a callback.
    pool = new pg.Pool({ ...config, Client: DatabaseClient });
    pool.on('error', () => undefined);
    asked = pool.query(probe);
  }
  const error = await asked.then(
    () => new Error('a query answered by a socket that resets'),
    (failure: unknown) => failure,
  );
  await pool?.end();
  await new Promise((resolve) => server.close(resolve));
  return error;
}

/** What TypeORM gives when the apps' pool cannot connect: the socket's error, passed through unwrapped. */
async function refusedDataSource(): Promise<unknown> {
  const url = `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`;
  return new DataSource(dataSourceOptions(url, 1, 1000)).initialize().then(
    () => new Error('connected to a closed port'),
    (error: unknown) => error,
  );
}

/** What fetch gives when an outbound call is refused (an issuer's JWKS, say). */
async function refusedFetch(): Promise<unknown> {
  return fetch(`http://127.0.0.1:${await closedPort()}/jwks.json`).then(
    () => new Error('fetched from a closed port'),
    (error: unknown) => error,
  );
}

describe(isDatabaseUnavailable.name, () => {
  it.each([
    [
      'a terminated backend (57P01)',
      failed(serverError('terminating connection due to administrator command', '57P01')),
    ],
    ['a server shutting down after a crash (57P02)', failed(serverError('terminating connection', '57P02'))],
    ['a server starting up (57P03)', serverError('the database system is starting up', '57P03')],
    ['too many connections (53300)', serverError('sorry, too many clients already', '53300')],
    ['a connection exception (08006)', failed(serverError('connection failure', '08006'))],
    [
      'a statement cancelled by statement_timeout (57014)',
      failed(serverError('canceling statement due to statement timeout', '57014')),
    ],
    [
      'a lock wait ended by lock_timeout (55P03)',
      failed(serverError('canceling statement due to lock timeout', '55P03')),
    ],
    ['a reset connection under a query', failed(codedError('read ECONNRESET', 'ECONNRESET'))],
    [
      'a refusal on every address under a query',
      failed(
        new AggregateError([codedError('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'all refused'),
      ),
    ],
    ['a socket closed under a query', failed(codedError('Connection terminated unexpectedly'))],
    ['a connection timeout', codedError('Connection terminated due to connection timeout')],
    ['an exhausted pool', codedError('timeout exceeded when trying to connect')],
    ['a pool closed at shutdown', codedError('Cannot use a pool after calling end on the pool')],
    [
      'a transaction whose connection died',
      Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), {
        name: 'QueryRunnerAlreadyReleasedError',
      }),
    ],
    [
      'a wrapped cause',
      new Error('release failed', { cause: failed(codedError('read ECONNRESET', 'ECONNRESET')) }),
    ],
  ])('says yes to %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it('says yes to a connection of the apps’ pool refused by the server', async () => {
    const error = await refusedConnection();
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each(['client', 'pool'] as const)(
    'says yes to a connection reset under a query sent straight to the driver’s %s',
    async (through) => {
      const error = await resetUnderRawQuery(through);
      expect(error).toMatchObject({ code: 'ECONNRESET' });
      expect(isDatabaseUnavailable(error)).toBe(true);
    },
  );

  it('says yes to a refused connection met through TypeORM and the pool', async () => {
    const error = await refusedDataSource();
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', failed(serverError('duplicate key value violates unique constraint', '23505'))],
    ['a syntax error', failed(serverError('syntax error at or near "SELEC"', '42601'))],
    ['a serialization failure', failed(serverError('could not serialize access', '40001'))],
    [
      'a refused connection that is not the database’s',
      codedError('connect ECONNREFUSED 10.0.0.9:443', 'ECONNREFUSED'),
    ],
    [
      'an unknown host that is not the database’s',
      codedError('getaddrinfo ENOTFOUND idp.example', 'ENOTFOUND'),
    ],
    [
      'an outbound call that timed out',
      new TypeError('fetch failed', { cause: codedError('connect ETIMEDOUT 10.0.0.9:443', 'ETIMEDOUT') }),
    ],
    ['a SQLSTATE-like code that is not the database’s', codedError('odd', '57014')],
    ['a plain error', new Error('something else')],
    ['a string', 'Connection terminated'],
    ['nothing', undefined],
  ])('says no to %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('says no to an outbound call refused by its server (not the database)', async () => {
    const error = await refusedFetch();
    expect(error).toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
