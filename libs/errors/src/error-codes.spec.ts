import { loggableError } from './error-codes.js';

describe(loggableError.name, () => {
  it('keeps the kind, message and code of a database error, not its parameters', () => {
    const error = Object.assign(new Error('duplicate key value violates unique constraint "x"'), {
      name: 'QueryFailedError',
      query: 'INSERT INTO citizen (id, issuer, subject) VALUES ($1, $2, $3)',
      parameters: ['0b1c…', 'https://issuer', 'alice-subject'],
      driverError: { code: '23505', detail: 'Key (subject)=(alice-subject) already exists.' },
    });
    const logged = loggableError(error);
    expect(logged).toMatchObject({
      type: 'QueryFailedError',
      code: '23505',
      message: expect.stringContaining('duplicate key'),
    });
    expect(JSON.stringify(logged)).not.toContain('alice-subject');
    expect(JSON.stringify(logged)).not.toContain('INSERT INTO');
  });

  it('copes with what is not an Error', () => {
    expect(loggableError('boom')).toEqual({ type: 'string', message: 'non-error thrown' });
  });
});
