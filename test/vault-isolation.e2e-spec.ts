import { createHash, randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import type pg from 'pg';
import { AccessLogCheckpoints, AccessLogService } from '#libs/access-log';
import { AppConfig } from '#libs/config';
import { ConsentRequestsService } from '#libs/consent';
import { AttributesService } from '#libs/vault';
import { startVault, type RunningVault } from './support/vault-app.js';

/**
 * Citizen B (or C) never reads or changes anything of citizen A, whatever
 * /v1/me route they call and whichever of A's ids they aim it at.
 */
describe('Vault: isolation between citizens', () => {
  let vault: RunningVault;
  const headers: Record<string, { Authorization: string }> = {};
  let aliceId: string;
  let secrets: string[];
  let targets: string[];

  /** Everything stored about A, hashed. */
  const aliceState = async (): Promise<string> => {
    const hash = createHash('sha256');
    for (const table of [
      'citizen',
      'citizen_key',
      'attribute_value',
      'attribute_history',
      'consent',
      'consent_request',
      'access_log_entry',
    ]) {
      const column = table === 'citizen' ? 'id' : 'citizen_id';
      const rows = await vault.dataSource.query(
        `SELECT to_jsonb(t)::text AS row FROM ${table} t WHERE ${column} = $1 ORDER BY 1`,
        [aliceId],
      );
      hash.update(rows.map((r: { row: string }) => r.row).join('\n'));
    }
    return hash.digest('hex');
  };

  beforeAll(async () => {
    vault = await startVault('isolation');
    for (const name of ['alice', 'bob', 'carol']) headers[name] = await vault.auth(name);
    const alice = headers.alice;
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: 'alice.secret@exemple.ca' })
      .expect(200);
    await vault.http
      .put('/v1/me/attributes/contact.phone')
      .set(alice)
      .send({ value: '+15145550111' })
      .expect(200);
    const consent = await vault.http
      .post('/v1/me/consents')
      .set(alice)
      .send({
        service: 'mess-aide',
        purpose: 'benefit-application',
        attributes: ['contact.phone'],
        mode: 'ongoing',
      })
      .expect(201);
    aliceId = (await vault.http.get('/v1/me/export').set(alice).expect(200)).body.profile.id;
    const requests = vault.app.get(ConsentRequestsService);
    const addressed = await requests.create({
      service: 'saaq-permis',
      purpose: 'licence-renewal',
      attributes: ['contact.email'],
      mode: 'once',
      citizenId: aliceId,
    });
    const decided = await requests.create({
      service: 'ramq-carte',
      purpose: 'health-card-renewal',
      attributes: ['contact.email'],
      mode: 'once',
      citizenId: aliceId,
    });
    await vault.http.post(`/v1/me/consent-requests/${decided.id}/approve`).set(alice).expect(200);
    const entry = await vault.dataSource.transaction((em) =>
      vault.app.get(AccessLogService).append(em, {
        citizenId: aliceId,
        serviceId: 'mess-aide',
        organisationId: 'MESS',
        purpose: 'benefit-application',
        requestId: randomUUID(),
        attributes: ['contact.phone'],
        outcome: 'released',
        released: ['contact.phone'],
        withheld: [],
        basis: [{ attribute: 'contact.phone', kind: 'consent', consentId: consent.body.id }],
      }),
    );
    // A signed checkpoint over alice's chain and bob's: bob's proof has alice's leaf in its audit path.
    const bobId = (await vault.http.get('/v1/me/export').set(headers.bob).expect(200)).body.profile.id;
    await vault.dataSource.transaction((em) =>
      vault.app.get(AccessLogService).append(em, {
        citizenId: bobId,
        serviceId: 'mess-aide',
        organisationId: 'MESS',
        purpose: 'benefit-application',
        requestId: randomUUID(),
        attributes: ['contact.phone'],
        outcome: 'withheld',
        released: [],
        withheld: [{ attribute: 'contact.phone', reason: 'not_held' }],
        basis: [],
      }),
    );
    expect((await vault.app.get(AccessLogCheckpoints).publish()).map((c) => c.size)).toEqual([2]);
    const aliceConsents = (await vault.http.get('/v1/me/consents').set(alice).expect(200)).body.map(
      (c: { id: string }) => c.id,
    );
    secrets = [
      'alice.secret@exemple.ca',
      '+15145550111',
      aliceId,
      entry.hash,
      addressed.id,
      decided.id,
      ...aliceConsents,
    ];
    targets = [addressed.id, decided.id, ...aliceConsents, randomUUID(), 'not-an-id'];
  });
  afterAll(() => vault.close());

  type Route = { method: 'get' | 'put' | 'post' | 'delete'; path: (target: string) => string; body?: object };
  const routes: Route[] = [
    { method: 'get', path: () => '/v1/me' },
    { method: 'put', path: () => '/v1/me/attributes/contact.email', body: { value: 'intruder@exemple.ca' } },
    { method: 'put', path: () => '/v1/me/attributes/contact.phone', body: { value: '+15145550999' } },
    { method: 'get', path: () => '/v1/me/attributes/history' },
    { method: 'get', path: () => '/v1/me/preferences' },
    {
      method: 'put',
      path: () => '/v1/me/preferences',
      body: {
        language: 'en',
        channels: { email: false, sms: false, portal: false },
        quietHours: { start: '00:00', end: '23:59' },
      },
    },
    { method: 'get', path: () => '/v1/me/export' },
    { method: 'delete', path: () => '/v1/me' },
    { method: 'get', path: () => '/v1/me/consents' },
    {
      method: 'post',
      path: () => '/v1/me/consents',
      body: {
        service: 'mess-aide',
        purpose: 'benefit-application',
        attributes: ['contact.phone'],
        mode: 'once',
      },
    },
    { method: 'delete', path: (t) => `/v1/me/consents/${t}` },
    { method: 'get', path: (t) => `/v1/me/consents/${t}/receipt` },
    { method: 'get', path: () => '/v1/me/consent-requests' },
    { method: 'get', path: (t) => `/v1/me/consent-requests/${t}` },
    { method: 'post', path: (t) => `/v1/me/consent-requests/${t}/approve` },
    { method: 'post', path: (t) => `/v1/me/consent-requests/${t}/deny` },
    { method: 'get', path: () => '/v1/me/access-log' },
    { method: 'get', path: (t) => `/v1/me/access-log?before=${(t.length % 5) + 1}` },
    { method: 'get', path: () => '/v1/me/access-log/proof' },
  ];

  it('holds over random actor × route × target combinations', async () => {
    const before = await aliceState();
    let calls = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('bob', 'carol'),
        fc.constantFrom(...routes),
        fc.constantFrom(...targets),
        async (actor, route, target) => {
          calls += 1;
          const call = vault.http[route.method](route.path(target)).set(headers[actor]);
          const response = await (route.body ? call.send(route.body) : call);
          expect(response.status).toBeLessThan(500);
          // The actor's own input echoed back (a path in a 404) is not a leak.
          const text = response.text.split(target).join('<target>');
          for (const secret of secrets) expect(text).not.toContain(secret);
          expect(await aliceState()).toBe(before);
        },
      ),
      { numRuns: 1000, seed: 2026 },
    );
    expect(calls).toBeGreaterThanOrEqual(1000);
    // A still sees all of their own data.
    const own = await vault.http.get('/v1/me').set(headers.alice).expect(200);
    expect(own.body.attributes.map((a: { value: string }) => a.value)).toEqual([
      'alice.secret@exemple.ca',
      '+15145550111',
    ]);
  });

  it('reads the profiles asked for at once in one statement, each citizen shown their own values only', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `reader-${i}`);
    const auths = await Promise.all(names.map((name) => vault.auth(name)));
    for (const [i, auth] of auths.entries())
      await vault.http
        .put('/v1/me/attributes/contact.email')
        .set(auth)
        .send({ value: `${names[i]}@exemple.ca` })
        .expect(200);

    // Asked in one turn of the event loop: one statement, each profile its own, a subject not seen yet none.
    const attributes = vault.app.get(AttributesService);
    const { issuer } = vault.app.get(AppConfig).citizenIssuer;
    const pool = (vault.dataSource.driver as unknown as { master: pg.Pool }).master;
    const statements = jest.spyOn(pool, 'query');
    let profiles;
    let calls;
    try {
      profiles = await Promise.all(
        [...names, 'nobody-yet'].map((subject) => attributes.listBySubject(issuer, subject)),
      );
    } finally {
      calls = statements.mock.calls.length;
      statements.mockRestore();
    }
    expect(calls).toBe(1);
    expect(profiles.at(-1)).toBeNull();
    names.forEach((name, i) =>
      expect(profiles[i]).toEqual({
        citizenId: expect.any(String),
        language: 'fr',
        held: [expect.objectContaining({ attribute: 'contact.email', value: `${name}@exemple.ca` })],
      }),
    );
    expect(new Set(profiles.map((profile) => profile?.citizenId)).size).toBe(names.length + 1);

    // Over HTTP: every citizen three times at once, and a newcomer whose profile the burst creates.
    const newcomer = await vault.auth('reader-newcomer');
    const order = [...names.keys(), ...names.keys(), ...names.keys()];
    const [first, ...responses] = await Promise.all([
      vault.http.get('/v1/me').set(newcomer),
      ...order.map((i) => vault.http.get('/v1/me').set(auths[i])),
    ]);
    expect([first.status, first.body.attributes]).toEqual([200, []]);
    // Found again, with no value held: the citizen's row alone.
    expect((await vault.http.get('/v1/me').set(newcomer).expect(200)).body).toEqual({
      language: 'fr',
      attributes: [],
    });
    responses.forEach((response, k) => {
      expect(response.status).toBe(200);
      expect(response.body.attributes.map((a: { value: string }) => a.value)).toEqual([
        `${names[order[k]]}@exemple.ca`,
      ]);
    });
  });
});
