import { compactVerify, createRemoteJWKSet, base64url } from 'jose';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import type { TestService } from './support/services.js';
import { type RunningVault, startVault } from './support/vault-app.js';

describe('Broker: reuse instead of re-ask', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;
  let alice: { Authorization: string };
  let saaq: TestService;

  beforeAll(async () => {
    db = await createTestDatabase('brokerflow');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('brokerflow', { db, idp });
    broker = await startBroker(db, idp);
    alice = await vault.auth('alice');
    saaq = broker.service('saaq-permis');
  });
  afterAll(async () => {
    await broker.close();
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  /** A service asks, the citizen approves in the vault, the service learns the pairwise id. */
  async function approvedRequest(
    service: TestService,
    purpose: string,
    attributes: string[],
    mode = 'ongoing',
  ) {
    const auth = await service.auth();
    const created = await broker.http
      .post('/v1/consent-requests')
      .set(auth)
      .send({ purpose, attributes, mode })
      .expect(201);
    expect(created.body).toMatchObject({
      status: 'pending',
      approvalUrl: expect.stringContaining(`/consent-requests/${created.body.id}`),
    });
    const seen = await vault.http.get(`/v1/me/consent-requests/${created.body.id}`).set(alice).expect(200);
    expect(seen.body).toMatchObject({
      service: service.id,
      purpose,
      status: 'pending',
      attributes: attributes.map((code) => ({ code, label: expect.any(Object) })),
    });
    await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(alice).expect(200);
    const status = await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(auth).expect(200);
    expect(status.body).toMatchObject({
      status: 'approved',
      citizen: { ppid: expect.any(String) },
      consentId: expect.any(String),
    });
    return { ppid: status.body.citizen.ppid as string, consentId: status.body.consentId as string, auth };
  }

  async function dataRequest(auth: Record<string, string>, body: object) {
    return broker.http.post('/v1/data-requests').set(auth).send(body);
  }

  it('releases under consent, signed; withholds the rest with reasons; stops at revocation', async () => {
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: 'alice@exemple.ca' })
      .expect(200);
    const { ppid, consentId, auth } = await approvedRequest(saaq, 'licence-renewal', [
      'address.residential',
      'contact.email',
    ]);

    // SAAQ's address service is the official source of the address: it writes it with the same organisation's id.
    const writer = await broker.service('saaq-adresse').auth();
    const address = {
      line1: '1 rue Sainte-Catherine',
      city: 'Montréal',
      province: 'QC',
      postalCode: 'H2X 1Z4',
    };
    await broker.http
      .put(`/v1/citizens/${ppid}/attributes/address.residential`)
      .set(writer)
      .send({ value: address })
      .expect(200);

    const response = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'licence-renewal',
      attributes: ['address.residential', 'contact.email', 'identity.birthdate', 'banking.direct_deposit'],
    });
    expect(response.status).toBe(200);
    expect(response.body.released).toEqual([
      { attribute: 'address.residential', value: address, source: 'SAAQ', updatedAt: expect.any(String) },
      {
        attribute: 'contact.email',
        value: 'alice@exemple.ca',
        source: 'citizen',
        updatedAt: expect.any(String),
      },
    ]);
    expect(response.body.withheld).toEqual([
      { attribute: 'identity.birthdate', reason: 'consent_required' },
      { attribute: 'banking.direct_deposit', reason: 'not_authorized' },
    ]);
    expect(response.body.consentRequest).toEqual({
      id: expect.any(String),
      approvalUrl: expect.stringContaining(response.body.consentRequest.id),
    });
    const pending = await vault.http.get('/v1/me/consent-requests').set(alice).expect(200);
    expect(pending.body).toEqual([
      expect.objectContaining({
        id: response.body.consentRequest.id,
        attributes: [expect.objectContaining({ code: 'identity.birthdate' })],
      }),
    ]);

    // The signature covers the exact bytes of the body.
    const signature = response.headers['x-jws-signature'];
    const [header, empty, sig] = signature.split('.');
    expect(empty).toBe('');
    const jwks = createRemoteJWKSet(new URL(`${broker.url}/.well-known/jwks.json`));
    const verified = await compactVerify(`${header}.${base64url.encode(response.text)}.${sig}`, jwks);
    expect(new TextDecoder().decode(verified.payload)).toBe(response.text);
    await expect(
      compactVerify(`${header}.${base64url.encode(response.text.replace('alice', 'alicf'))}.${sig}`, jwks),
    ).rejects.toThrow();

    await vault.http.delete(`/v1/me/consents/${consentId}`).set(alice).expect(200);
    const after = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'licence-renewal',
      attributes: ['address.residential', 'contact.email'],
    });
    expect(after.body.released).toEqual([]);
    expect(after.body.withheld).toEqual([
      { attribute: 'address.residential', reason: 'consent_required' },
      { attribute: 'contact.email', reason: 'consent_required' },
    ]);
  });

  it('uses up a one-time consent with its first release', async () => {
    const { ppid, auth } = await approvedRequest(
      broker.service('mess-aide'),
      'benefit-application',
      ['contact.email'],
      'once',
    );
    const first = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'benefit-application',
      attributes: ['contact.email'],
    });
    expect(first.body.released.map((r: { attribute: string }) => r.attribute)).toEqual(['contact.email']);
    const second = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'benefit-application',
      attributes: ['contact.email'],
    });
    expect(second.body.withheld).toEqual([{ attribute: 'contact.email', reason: 'consent_required' }]);
  });

  it('releases under a legal basis without consent, and the citizen sees it with its reference', async () => {
    const rq = broker.service('rq-credits');
    const { ppid, consentId, auth } = await approvedRequest(rq, 'tax-credit', ['civil.marital_status']);
    await vault.http.delete(`/v1/me/consents/${consentId}`).set(alice).expect(200);

    const response = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'tax-credit',
      attributes: ['address.residential', 'civil.marital_status'],
    });
    expect(response.status).toBe(200);
    expect(response.body.released).toEqual([
      expect.objectContaining({ attribute: 'address.residential', source: 'SAAQ' }),
    ]);
    expect(response.body.withheld).toEqual([
      { attribute: 'civil.marital_status', reason: 'consent_required' },
    ]);

    const log = await vault.http.get('/v1/me/access-log').set(alice).expect(200);
    const entry = log.body.entries.find(
      (e: { requestId: string }) => e.requestId === response.body.requestId,
    );
    expect(entry).toMatchObject({
      service: 'rq-credits',
      organisation: 'RQ',
      purpose: 'tax-credit',
      attributes: ['address.residential', 'civil.marital_status'],
      outcome: 'partial',
      released: ['address.residential'],
      withheld: [{ attribute: 'civil.marital_status', reason: 'consent_required' }],
      basis: [
        {
          attribute: 'address.residential',
          kind: 'legal_basis',
          legalBasisId: 'rq-income-check',
          reference: 'RLRQ, c. A-6.002, art. 69.1',
        },
      ],
    });
    // The refusals show too, and the chain links up to the head.
    const refusal = log.body.entries.find(
      (e: { outcome: string; service: string }) => e.outcome === 'withheld' && e.service === 'saaq-permis',
    );
    expect(refusal).toMatchObject({ released: [], basis: [] });
    expect(log.body.head).toEqual({ seq: log.body.entries[0].seq, hash: log.body.entries[0].hash });
    for (let i = 0; i < log.body.entries.length - 1; i++) {
      expect(log.body.entries[i].prevHash).toBe(log.body.entries[i + 1].hash);
    }
  });

  it('knows a citizen only by the asking organisation’s own pairwise id', async () => {
    const { ppid: saaqPpid } = await approvedRequest(saaq, 'licence-renewal', ['contact.email']);
    const rqAuth = await broker.service('rq-credits').auth();
    const response = await dataRequest(rqAuth, {
      citizen: { ppid: saaqPpid },
      purpose: 'tax-credit',
      attributes: ['address.residential'],
    });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'citizen_not_found' });
    expect(response.text).not.toContain('Sainte-Catherine');
  });

  it('keeps one service within its own rights, whatever consent it holds', async () => {
    const { ppid, auth } = await approvedRequest(saaq, 'licence-renewal', ['address.residential']);
    const response = await dataRequest(auth, {
      citizen: { ppid },
      purpose: 'tax-credit',
      attributes: ['address.residential'],
    });
    expect(response.body.withheld).toEqual([{ attribute: 'address.residential', reason: 'not_authorized' }]);
    expect(response.body.released).toEqual([]);
    const write = await broker.http
      .put(`/v1/citizens/${ppid}/attributes/health.card_expiry`)
      .set(auth)
      .send({ value: '2030-01-01' });
    expect(write.status).toBe(403);
  });

  it('tells a collection that re-asked known information from one that asked for the first time', async () => {
    const { ppid, auth } = await approvedRequest(saaq, 'licence-renewal', ['contact.email']);
    const report = await broker.http
      .post('/v1/collections')
      .set(auth)
      .send({
        citizen: { ppid },
        attributes: ['address.residential', 'contact.phone', 'identity.birthdate', 'health.card_expiry'],
      })
      .expect(200);
    // address: held, readable and consented → a re-ask the service is told of;
    // phone, health card: no right to them → first time; birthdate: a right but no consent → not told either way.
    expect(report.body).toEqual({
      reAsked: ['address.residential'],
      firstTime: ['contact.phone', 'health.card_expiry'],
      undisclosed: ['identity.birthdate'],
    });
    const [row] = await broker.dataSource.query(
      `SELECT re_asked, first_time, service_id FROM collection_report`,
    );
    expect(row).toMatchObject({ service_id: 'saaq-permis', re_asked: ['address.residential'] });
  });

  it('forgets an erased citizen: the organisation’s pairwise id no longer resolves', async () => {
    const zoe = await vault.auth('zoe');
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(zoe)
      .send({ value: 'zoe@exemple.ca' })
      .expect(200);
    const auth = await saaq.auth();
    const created = await broker.http
      .post('/v1/consent-requests')
      .set(auth)
      .send({ purpose: 'licence-renewal', attributes: ['contact.email'], mode: 'ongoing' })
      .expect(201);
    await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(zoe).expect(200);
    const { citizen } = (
      await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(auth).expect(200)
    ).body;
    const exported = await vault.http.get('/v1/me/export').set(zoe).expect(200);
    expect(exported.body.pairwiseIds).toEqual([
      { organisation: 'SAAQ', ppid: citizen.ppid, createdAt: expect.any(String) },
    ]);
    await broker.http
      .post('/v1/data-requests')
      .set(auth)
      .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] })
      .expect(200);

    await vault.http.delete('/v1/me').set(zoe).expect(200);
    const after = await broker.http
      .post('/v1/data-requests')
      .set(auth)
      .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] });
    expect(after.status).toBe(404);
    expect(after.body.code).toBe('citizen_not_found');
  });

  it('answers malformed citizen references with a 4xx problem', async () => {
    const auth = await saaq.auth();
    const asArray = await dataRequest(auth, {
      citizen: [],
      purpose: 'licence-renewal',
      attributes: ['contact.email'],
    });
    expect(asArray.status).toBe(400);
    expect(asArray.body.code).toBe('validation_failed');
    const withNul = await broker.http
      .put('/v1/citizens/%00/attributes/contact.email')
      .set(auth)
      .send({ value: 'x@y.ca' });
    expect(withNul.status).toBe(403); // saaq-permis has no write right on contact.email: refused before looking the citizen up
    const writer = await broker.service('saaq-adresse').auth();
    const nul = await broker.http
      .put('/v1/citizens/%00abc/attributes/address.residential')
      .set(writer)
      .send({ value: { line1: '1 rue A', city: 'Québec', province: 'QC', postalCode: 'G1R 1A1' } });
    expect(nul.status).toBe(404);
    expect(nul.body.code).toBe('citizen_not_found');
  });
});
