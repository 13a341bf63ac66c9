import { createHash } from 'node:crypto';
import { base64url } from 'jose';
import { startVault, type RunningVault } from './support/vault-app.js';

/** Every row of every table that holds citizen data, hashed: equal before and after means nothing was written. */
async function fingerprint(vault: RunningVault): Promise<string> {
  const tables = [
    'citizen',
    'citizen_key',
    'attribute_value',
    'attribute_history',
    'consent',
    'consent_request',
    'access_log_entry',
  ];
  const hash = createHash('sha256');
  for (const table of tables) {
    const rows = await vault.dataSource.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
    hash.update(`${table}:${rows.map((r: { row: string }) => r.row).join('\n')}`);
  }
  return hash.digest('hex');
}

function unsignedToken(claims: object): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('Vault: bad input', () => {
  let vault: RunningVault;
  let auth: { Authorization: string };

  beforeAll(async () => {
    vault = await startVault('badinput');
    auth = await vault.auth('dana');
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(auth)
      .send({ value: 'dana@exemple.ca' })
      .expect(200);
  });
  afterAll(() => vault.close());

  const json = 'application/json';
  const bodies: [string, () => Promise<import('supertest').Response>, number, string][] = [
    [
      'malformed JSON',
      () =>
        vault.http
          .put('/v1/me/attributes/contact.email')
          .set(auth)
          .set('content-type', json)
          .send('{"value": "a@b.ca"'),
      400,
      'malformed_json',
    ],
    [
      'a JSON array instead of an object',
      () =>
        vault.http
          .put('/v1/me/attributes/contact.email')
          .set(auth)
          .set('content-type', json)
          .send('["a@b.ca"]'),
      400,
      'validation_failed',
    ],
    [
      'a bare JSON string',
      () => vault.http.post('/v1/me/consents').set(auth).set('content-type', json).send('"hello"'),
      400,
      'validation_failed',
    ],
    [
      'JSON null',
      () => vault.http.put('/v1/me/preferences').set(auth).set('content-type', json).send('null'),
      400,
      'validation_failed',
    ],
    [
      'an unknown field',
      () =>
        vault.http.put('/v1/me/attributes/contact.email').set(auth).send({ value: 'x@y.ca', admin: true }),
      400,
      'validation_failed',
    ],
    [
      'a missing value',
      () => vault.http.put('/v1/me/attributes/contact.email').set(auth).send({}),
      400,
      'validation_failed',
    ],
    [
      'a wrong type for mode',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({
            service: 'saaq-permis',
            purpose: 'licence-renewal',
            attributes: ['contact.email'],
            mode: 3,
          }),
      400,
      'validation_failed',
    ],
    [
      'attributes as a string',
      () =>
        vault.http.post('/v1/me/consents').set(auth).send({
          service: 'saaq-permis',
          purpose: 'licence-renewal',
          attributes: 'contact.email',
          mode: 'once',
        }),
      400,
      'validation_failed',
    ],
    [
      'a past expiry',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({
            service: 'saaq-permis',
            purpose: 'licence-renewal',
            attributes: ['contact.email'],
            mode: 'once',
            expiresAt: '2001-01-01T00:00:00Z',
          }),
      400,
      'invalid_expiry',
    ],
    [
      'an unknown attribute code (path)',
      () => vault.http.put('/v1/me/attributes/contact.fax').set(auth).send({ value: '123' }),
      400,
      'unknown_attribute',
    ],
    [
      'an unknown attribute code (consent)',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({
            service: 'saaq-permis',
            purpose: 'licence-renewal',
            attributes: ['contact.fax'],
            mode: 'once',
          }),
      400,
      'unknown_attribute',
    ],
    [
      'an unknown service',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({ service: 'nsa', purpose: 'licence-renewal', attributes: ['contact.email'], mode: 'once' }),
      400,
      'unknown_service',
    ],
    [
      'an unknown purpose',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({
            service: 'saaq-permis',
            purpose: 'marketing',
            attributes: ['contact.email'],
            mode: 'once',
          }),
      400,
      'unknown_purpose',
    ],
    [
      'a consent beyond the service’s rights',
      () =>
        vault.http
          .post('/v1/me/consents')
          .set(auth)
          .send({
            service: 'saaq-permis',
            purpose: 'licence-renewal',
            attributes: ['banking.direct_deposit'],
            mode: 'once',
          }),
      422,
      'not_authorized',
    ],
    [
      'a non-self-declarable attribute',
      () =>
        vault.http.put('/v1/me/attributes/health.insurance_number').set(auth).send({ value: 'ABCD12345678' }),
      403,
      'attribute_not_self_declarable',
    ],
    [
      'an invalid e-mail',
      () => vault.http.put('/v1/me/attributes/contact.email').set(auth).send({ value: 'not-an-email' }),
      400,
      'invalid_attribute_value',
    ],
    [
      'a 10 MB body',
      () =>
        vault.http
          .put('/v1/me/attributes/contact.email')
          .set(auth)
          .set('content-type', json)
          .send(`{"value":"${'a'.repeat(10 * 1024 * 1024)}"}`),
      413,
      'payload_too_large',
    ],
    [
      'a text/plain body',
      () =>
        vault.http
          .put('/v1/me/attributes/contact.email')
          .set(auth)
          .set('content-type', 'text/plain')
          .send('a@b.ca'),
      415,
      'unsupported_media_type',
    ],
    [
      'an unknown consent id',
      () => vault.http.delete('/v1/me/consents/00000000-0000-4000-8000-000000000000').set(auth),
      404,
      'consent_not_found',
    ],
    [
      'a malformed consent id',
      () => vault.http.get('/v1/me/consents/not-a-uuid/receipt').set(auth),
      404,
      'consent_not_found',
    ],
    [
      'an unknown consent request',
      () => vault.http.post('/v1/me/consent-requests/00000000-0000-4000-8000-000000000000/approve').set(auth),
      404,
      'consent_request_not_found',
    ],
    [
      'a bad page size',
      () => vault.http.get('/v1/me/access-log?limit=0').set(auth),
      400,
      'validation_failed',
    ],
    [
      'a page cursor beyond any sequence number',
      () => vault.http.get('/v1/me/access-log?before=99999999999999999999').set(auth),
      400,
      'validation_failed',
    ],
    [
      'preferences with arrays for objects',
      () =>
        vault.http.put('/v1/me/preferences').set(auth).send({ language: 'fr', channels: [], quietHours: [] }),
      400,
      'validation_failed',
    ],
    [
      'an unknown query parameter',
      () => vault.http.get('/v1/me/access-log?sort=asc').set(auth),
      400,
      'validation_failed',
    ],
    ['an unknown route', () => vault.http.get('/v1/me/secrets').set(auth), 404, 'route_not_found'],
  ];

  const tokens: [string, () => Promise<string | undefined>][] = [
    ['no Authorization header', async () => undefined],
    ['a non-bearer scheme', async () => 'Basic ZGFuYTpwdw=='],
    ['a garbage token', async () => 'Bearer abc.def.ghi'],
    [
      'an expired token',
      async () =>
        `Bearer ${await vault.idp.token({ subject: 'dana', expiresIn: Math.floor(Date.now() / 1000) - 120 })}`,
    ],
    [
      'a forged token (unknown signing key, published kid)',
      async () => `Bearer ${await vault.idp.token({ subject: 'dana', key: vault.idp.forgerKey })}`,
    ],
    [
      'a token with an unknown kid',
      async () =>
        `Bearer ${await vault.idp.token({ subject: 'dana', key: vault.idp.forgerKey, kid: 'other' })}`,
    ],
    [
      'an alg:none token',
      async () =>
        `Bearer ${unsignedToken({ sub: 'dana', iss: vault.idp.issuer, aud: vault.idp.audience, exp: Math.floor(Date.now() / 1000) + 600 })}`,
    ],
    [
      'a wrong-audience token',
      async () => `Bearer ${await vault.idp.token({ subject: 'dana', audience: 'another-app' })}`,
    ],
    [
      'a wrong-issuer token',
      async () => `Bearer ${await vault.idp.token({ subject: 'dana', issuer: 'https://evil.example' })}`,
    ],
  ];

  it.each(bodies)('%s → problem, nothing written', async (_name, send, status, code) => {
    const before = await fingerprint(vault);
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: `urn:une-fois:problem:${code}`, code, status });
    expect(response.body.titles.fr).toEqual(expect.any(String));
    expect(response.body.titles.en).toEqual(expect.any(String));
    expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect(await fingerprint(vault)).toBe(before);
    await vault.http.get('/health').expect(200);
  });

  it.each(tokens)('%s → 401 problem on every route, nothing written', async (_name, header) => {
    const authorization = await header();
    const before = await fingerprint(vault);
    for (const [method, path] of [
      ['get', '/v1/me'],
      ['put', '/v1/me/attributes/contact.email'],
      ['delete', '/v1/me'],
      ['get', '/v1/me/export'],
    ] as const) {
      const call = vault.http[method](path);
      if (authorization) call.set('Authorization', authorization);
      const response = await (method === 'put' ? call.send({ value: 'mallory@exemple.ca' }) : call);
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('unauthenticated');
    }
    expect(await fingerprint(vault)).toBe(before);
  });

  it('answers problems in English when asked', async () => {
    const response = await vault.http
      .put('/v1/me/attributes/contact.fax')
      .set(auth)
      .set('accept-language', 'en-CA,en;q=0.9')
      .send({ value: 'x' });
    expect(response.body.title).toBe('Unknown attribute.');
    const french = await vault.http.put('/v1/me/attributes/contact.fax').set(auth).send({ value: 'x' });
    expect(french.body.title).toBe('Attribut inconnu.');
  });

  it("answers every request with its correlation id: the caller's x-request-id when it is a plain token, else a new one", async () => {
    const given = await vault.http.get('/v1/me').set(auth).set('x-request-id', 'portal-42.a_b').expect(200);
    expect(given.headers['x-request-id']).toBe('portal-42.a_b');
    const refused = await vault.http.get('/v1/me').set('x-request-id', 'not a token!').expect(401);
    expect(refused.headers['x-request-id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const fresh = await vault.http.get('/health');
    expect(fresh.headers['x-request-id']).not.toBe(refused.headers['x-request-id']);
  });

  it('still serves the citizen after all of it', async () => {
    const profile = await vault.http.get('/v1/me').set(auth).expect(200);
    expect(profile.body.attributes).toEqual([
      expect.objectContaining({ attribute: 'contact.email', value: 'dana@exemple.ca' }),
    ]);
  });
});

describe('Vault: the citizen issuer’s keys', () => {
  let vault: RunningVault;
  beforeAll(async () => {
    vault = await startVault('jwks', { env: { JWKS_REFETCH_COOLDOWN_SECONDS: '1' } });
  });
  afterAll(() => vault.close());

  it('serves no development issuer keys when a real issuer is configured (404 problem)', async () => {
    const response = await vault.http.get('/dev-issuer/.well-known/jwks.json').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      code: 'route_not_found',
      detail: expect.stringMatching(/CITIZEN_ISSUER/),
    });
  });

  it('caches the JWKS, refetches once when the issuer rotates, and not for every unknown kid', async () => {
    for (let i = 0; i < 5; i++)
      await vault.http
        .get('/v1/me')
        .set(await vault.auth('erin'))
        .expect(200);
    expect(vault.idp.jwksFetches).toBe(1);

    vault.idp.rotate();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the refetch cooldown
    await vault.http
      .get('/v1/me')
      .set(await vault.auth('erin'))
      .expect(200);
    await vault.http
      .get('/v1/me')
      .set(await vault.auth('erin'))
      .expect(200);
    expect(vault.idp.jwksFetches).toBe(2);

    for (const kid of ['x1', 'x2', 'x3', 'x4']) {
      const token = await vault.idp.token({ subject: 'erin', key: vault.idp.forgerKey, kid });
      await vault.http.get('/v1/me').set('Authorization', `Bearer ${token}`).expect(401);
    }
    expect(vault.idp.jwksFetches).toBe(2);
  });

  it('refuses an HS256 token whose secret is the issuer’s public key', async () => {
    const { SignJWT } = await import('jose');
    const jwks = await (await fetch(vault.idp.jwksUri)).text();
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'idp-1' })
      .setIssuer(vault.idp.issuer)
      .setAudience(vault.idp.audience)
      .setSubject('erin')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(jwks));
    const response = await vault.http.get('/v1/me').set('Authorization', `Bearer ${token}`).expect(401);
    expect(response.body.code).toBe('unauthenticated');
  });
});
