import pg from 'pg';
import { QueryFailedError } from 'typeorm';

/**
 * Whether an error says the database cannot be reached right now (the
 * connection was lost or refused, the server is shutting down or starting,
 * no pooled connection came free in time, a statement waited too long on a
 * lock or ran out of time), rather than that a query is wrong. Such a request
 * is worth retrying later: the apps answer 503 with Retry-After, and the pool
 * opens fresh connections once the server is back.
 *
 * Error codes count only on errors that came from the database (a query's
 * error, a server's answer, a failed connection of the apps' pool): an
 * outbound call that fails with ECONNREFUSED (an issuer's JWKS, say) is not a
 * lost database.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return causes(error, false).some(([inner, fromDatabase]) => unavailable(inner, fromDatabase));
}

/**
 * The pool's client class: an error met while connecting is marked as the
 * database's, since pg hands on the socket's error (ECONNREFUSED, ENOTFOUND, …)
 * as is and TypeORM passes it through unwrapped.
 */
export class DatabaseClient extends pg.Client {
  override connect(): Promise<pg.Client>;
  override connect(callback: (error: Error | null, client?: pg.Client) => void): void;
  override connect(callback?: (error: Error | null, client?: pg.Client) => void): Promise<pg.Client> | void {
    if (!callback) {
      return new Promise((resolve, reject) =>
        this.connect((error) => (error ? reject(error) : resolve(this))),
      );
    }
    super.connect((error: Error | null) => {
      if (error && typeof error === 'object') FROM_DATABASE.add(error);
      callback(error, this);
    });
  }
}

/**
 * A query's failure on this client is the database's too, whoever calls the
 * driver directly (named statements bypass TypeORM and its QueryFailedError):
 * a connection reset under a query (ECONNRESET) then reads as an outage.
 * Promise-style calls, and callback-style ones (the pool's own `query`, which
 * named statements on the data source go through); cursors and other
 * submittables are returned as they are.
 */
const driverQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
const markFailure = (error: unknown) => {
  if (error && typeof error === 'object') FROM_DATABASE.add(error);
};
(DatabaseClient.prototype as unknown as { query: typeof driverQuery }).query = function (
  this: pg.Client,
  ...args: unknown[]
) {
  const last = args.length - 1;
  const callback = args[last];
  if (last > 0 && typeof callback === 'function') {
    args[last] = (error: unknown, result: unknown) => {
      markFailure(error);
      (callback as (error: unknown, result: unknown) => void)(error, result);
    };
    return driverQuery.apply(this, args);
  }
  const result = driverQuery.apply(this, args) as PromiseLike<unknown> | undefined;
  if (typeof result?.then !== 'function') return result;
  return result.then(undefined, (error: unknown) => {
    markFailure(error);
    throw error;
  });
};

const FROM_DATABASE = new WeakSet<object>();

/** Socket-level failures between the app and PostgreSQL. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of an unavailable server: class 08 (connection exception),
 * 57P01 admin_shutdown (also pg_terminate_backend), 57P02 crash_shutdown,
 * 57P03 cannot_connect_now, 53300 too_many_connections; and of a statement
 * that gave up: 57014 query_canceled (statement_timeout) and 55P03
 * lock_not_available (lock_timeout).
 */
const SQLSTATES = /^(08[0-9A-Z]{3}|57P0[123]|53300|57014|55P03)$/;

/** What pg, pg-pool and TypeORM say when a connection dies or none can be had. */
const MESSAGES = [
  /^Connection terminated/, // the socket closed under a client (also "… due to connection timeout")
  /timeout exceeded when trying to connect/, // pg-pool: no connection free within connectionTimeoutMillis
  /Client has encountered a connection error and is not queryable/,
  /Cannot use a pool after calling end on the pool/, // the app is shutting down
];

/** TypeORM releases a query runner whose connection died: a transaction's next statement says so. */
const ERROR_NAMES = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

function unavailable(error: object, fromDatabase: boolean): boolean {
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (fromDatabase && typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATES.test(code)))
    return true;
  if (typeof name === 'string' && ERROR_NAMES.has(name)) return true;
  return typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message));
}

/** Errors that come from the database, and so does whatever they wrap. */
function databaseError(error: object): boolean {
  return error instanceof QueryFailedError || error instanceof pg.DatabaseError || FROM_DATABASE.has(error);
}

/**
 * The error and what it wraps (TypeORM's driverError, an Error's cause, an
 * AggregateError's errors), each with whether it came from the database.
 */
function causes(error: unknown, fromDatabase: boolean, depth = 0): [object, boolean][] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const inside = fromDatabase || databaseError(error);
  const { driverError, cause, errors } = error as {
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  return [
    [error, inside],
    ...causes(driverError, inside, depth + 1),
    ...causes(cause, inside, depth + 1),
    ...(Array.isArray(errors) ? errors.flatMap((inner) => causes(inner, inside, depth + 1)) : []),
  ];
}
