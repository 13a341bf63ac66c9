import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from './database-unavailable.js';

const pgError = (message: string, code?: string) => Object.assign(new Error(message), code ? { code } : {});
const failed = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

describe(isDatabaseUnavailable.name, () => {
  it.each([
    [
      'a terminated backend (57P01)',
      failed(pgError('terminating connection due to administrator command', '57P01')),
    ],
    ['a server shutting down after a crash (57P02)', failed(pgError('terminating connection', '57P02'))],
    ['a server starting up (57P03)', pgError('the database system is starting up', '57P03')],
    ['too many connections (53300)', pgError('sorry, too many clients already', '53300')],
    ['a connection exception (08006)', pgError('connection failure', '08006')],
    ['a refused connection', pgError('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', pgError('read ECONNRESET', 'ECONNRESET')],
    [
      'a refusal on every address',
      new AggregateError([pgError('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'all refused'),
    ],
    ['a socket closed under a query', failed(pgError('Connection terminated unexpectedly'))],
    ['a connection timeout', pgError('Connection terminated due to connection timeout')],
    ['an exhausted pool', pgError('timeout exceeded when trying to connect')],
    ['a pool closed at shutdown', pgError('Cannot use a pool after calling end on the pool')],
    [
      'a transaction whose connection died',
      Object.assign(new Error('Query runner already released. Cannot run queries anymore.'), {
        name: 'QueryRunnerAlreadyReleasedError',
      }),
    ],
    ['a wrapped cause', new Error('release failed', { cause: pgError('read ECONNRESET', 'ECONNRESET') })],
  ])('says yes to %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', failed(pgError('duplicate key value violates unique constraint', '23505'))],
    ['a syntax error', failed(pgError('syntax error at or near "SELEC"', '42601'))],
    ['a serialization failure', failed(pgError('could not serialize access', '40001'))],
    ['a plain error', new Error('something else')],
    ['a string', 'Connection terminated'],
    ['nothing', undefined],
  ])('says no to %s', (_case, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
