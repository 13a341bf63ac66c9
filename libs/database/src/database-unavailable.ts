/**
 * Whether an error says the database cannot be reached right now (the
 * connection was lost or refused, the server is shutting down or starting,
 * no pooled connection came free in time), rather than that a query is wrong.
 * Such a request is worth retrying later: the apps answer 503 with
 * Retry-After, and the pool opens fresh connections once the server is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return causes(error).some(unavailable);
}

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
 * 57P03 cannot_connect_now, 53300 too_many_connections.
 */
const SQLSTATES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/;

/** What pg, pg-pool and TypeORM say when a connection dies or none can be had. */
const MESSAGES = [
  /^Connection terminated/, // the socket closed under a client (also "… due to connection timeout")
  /timeout exceeded when trying to connect/, // pg-pool: no connection free within connectionTimeoutMillis
  /Client has encountered a connection error and is not queryable/,
  /Cannot use a pool after calling end on the pool/, // the app is shutting down
];

/** TypeORM releases a query runner whose connection died: a transaction's next statement says so. */
const ERROR_NAMES = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

function unavailable(error: object): boolean {
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATES.test(code))) return true;
  if (typeof name === 'string' && ERROR_NAMES.has(name)) return true;
  return typeof message === 'string' && MESSAGES.some((pattern) => pattern.test(message));
}

/** The error and what it wraps: TypeORM's driverError, an Error's cause, an AggregateError's errors. */
function causes(error: unknown, depth = 0): object[] {
  if (typeof error !== 'object' || error === null || depth > 4) return [];
  const { driverError, cause, errors } = error as {
    driverError?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  return [
    error,
    ...causes(driverError, depth + 1),
    ...causes(cause, depth + 1),
    ...(Array.isArray(errors) ? errors.flatMap((inner) => causes(inner, depth + 1)) : []),
  ];
}
