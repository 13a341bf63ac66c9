import pg from 'pg';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { auditAccessLog, CHAIN_LOCK_CLASS } from '#libs/access-log';
import { DATA_RESPONSE_TYP, verifyDataResponse } from '#libs/release';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import type { TestService } from './support/services.js';
import { type RunningVault, startVault } from './support/vault-app.js';

describe('Broker: many requests for one citizen at once', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;

  beforeAll(async () => {
    db = await createTestDatabase('samecitizen');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('samecitizen', { db, idp });
    broker = await startBroker(db, idp);
  });
  afterAll(async () => {
    await broker.close();
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  /** A citizen with an e-mail, and the services' pairwise ids of them from approved consent requests. */
  async function citizenWithEmail(
    subject: string,
    grants: { service: TestService; purpose: string; mode: string }[],
  ) {
    const auth = await vault.auth(subject);
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(auth)
      .send({ value: `${subject}@exemple.ca` })
      .expect(200);
    const ppids: Record<string, string> = {};
    for (const { service, purpose, mode } of grants) {
      const serviceAuth = await service.auth();
      const created = await broker.http
        .post('/v1/consent-requests')
        .set(serviceAuth)
        .send({ purpose, attributes: ['contact.email'], mode })
        .expect(201);
      await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(auth).expect(200);
      ppids[service.id] = (
        await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(serviceAuth).expect(200)
      ).body.citizen.ppid;
    }
    const id = (await vault.http.get('/v1/me/export').set(auth).expect(200)).body.profile.id as string;
    return { id, auth, ppids };
  }

  const chainOf = async (citizenId: string) =>
    (
      await broker.dataSource.query(
        `SELECT seq::int AS seq FROM access_log_entry WHERE citizen_id = $1 ORDER BY seq`,
        [citizenId],
      )
    ).map((row: { seq: number }) => row.seq);

  it('answers 50 concurrent requests from two services for one citizen, every one 200, the chain intact', async () => {
    const saaq = broker.service('saaq-permis');
    const mess = broker.service('mess-aide');
    const cam = await citizenWithEmail('cam', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
      { service: mess, purpose: 'benefit-application', mode: 'ongoing' },
    ]);
    const auths = { [saaq.id]: await saaq.auth(), [mess.id]: await mess.auth() };
    const purposes = { [saaq.id]: 'licence-renewal', [mess.id]: 'benefit-application' };

    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const service = i % 2 === 0 ? saaq.id : mess.id;
        return broker.http
          .post('/v1/data-requests')
          .set(auths[service])
          .send({
            citizen: { ppid: cam.ppids[service] },
            purpose: purposes[service],
            attributes: ['contact.email'],
          });
      }),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    for (const response of responses)
      expect(response.body.released).toEqual([expect.objectContaining({ value: 'cam@exemple.ca' })]);

    // One link per request, no gap, no fork; every chain of the database verifies.
    expect(await chainOf(cam.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await auditAccessLog(broker.dataSource)).toMatchObject({ broken: null });
    const requestIds = new Set(responses.map((r) => r.body.requestId));
    const logged = await broker.dataSource.query(
      `SELECT request_id FROM access_log_entry WHERE citizen_id = $1`,
      [cam.id],
    );
    expect(new Set(logged.map((row: { request_id: string }) => row.request_id))).toEqual(requestIds);
  });

  it('uses a one-time consent exactly once among concurrent requests', async () => {
    const saaq = broker.service('saaq-permis');
    const dee = await citizenWithEmail('dee', [{ service: saaq, purpose: 'licence-renewal', mode: 'once' }]);
    const auth = await saaq.auth();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        broker.http
          .post('/v1/data-requests')
          .set(auth)
          .send({
            citizen: { ppid: dee.ppids[saaq.id] },
            purpose: 'licence-renewal',
            attributes: ['contact.email'],
          }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(responses.filter((r) => r.body.released.length === 1)).toHaveLength(1);
    expect(responses.filter((r) => r.body.withheld[0]?.reason === 'consent_required')).toHaveLength(19);
    expect(await chainOf(dee.id)).toHaveLength(20);
    expect(await auditAccessLog(broker.dataSource)).toMatchObject({ broken: null });
  });

  it('queues requests behind an append in progress for their citizen, and lets other citizens through', async () => {
    const saaq = broker.service('saaq-permis');
    const eve = await citizenWithEmail('eve', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
    ]);
    const fay = await citizenWithEmail('fay', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
    ]);
    const auth = await saaq.auth();
    const ask = (ppid: string) =>
      broker.http
        .post('/v1/data-requests')
        .set(auth)
        .send({ citizen: { ppid }, purpose: 'licence-renewal', attributes: ['contact.email'] });

    // Another writer holds eve's chain, as an append in progress does.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text))`, [
        CHAIN_LOCK_CLASS,
        eve.id,
      ]);
      // More requests than the broker has pooled connections: queued for one chain, they must not hold them all.
      let settled = 0;
      const queued = Array.from({ length: 10 }, () =>
        ask(eve.ppids[saaq.id]).then((response) => {
          settled += 1;
          return response;
        }),
      );
      // Until one of them waits on the lock (a waiting advisory lock shows in pg_locks).
      for (;;) {
        const { rows } = await holder.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1`,
          [CHAIN_LOCK_CLASS],
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // and the others have had time to pile up behind it (were each to hold a pooled connection, none would be left).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const waiting = await holder.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1`,
        [CHAIN_LOCK_CLASS],
      );
      expect(waiting.rows[0].n).toBe(1);
      const other = await ask(fay.ppids[saaq.id]);
      expect(other.status).toBe(200);
      expect(other.body.released).toHaveLength(1);
      expect(settled).toBe(0);
      await holder.query('COMMIT');
      for (const response of await Promise.all(queued)) {
        expect(response.status).toBe(200);
        expect(response.body.released).toEqual([expect.objectContaining({ value: 'eve@exemple.ca' })]);
      }
    } finally {
      await holder.end();
    }
    expect(await chainOf(eve.id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('signs what a response is about: a response about one citizen does not pass for another', async () => {
    const saaq = broker.service('saaq-permis');
    const gus = await citizenWithEmail('gus', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
    ]);
    const hal = await citizenWithEmail('hal', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
    ]);
    const response = await broker.http
      .post('/v1/data-requests')
      .set(await saaq.auth())
      .send({
        citizen: { ppid: gus.ppids[saaq.id] },
        purpose: 'licence-renewal',
        attributes: ['contact.email'],
      })
      .expect(200);
    const signature = response.headers['x-jws-signature'];
    expect(decodeProtectedHeader(signature).typ).toBe(DATA_RESPONSE_TYP);
    expect(response.body).toMatchObject({
      citizen: { ppid: gus.ppids[saaq.id] },
      service: 'saaq-permis',
      purpose: 'licence-renewal',
      issuedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const jwks = createRemoteJWKSet(new URL(`${broker.url}/.well-known/jwks.json`));
    const verified = await verifyDataResponse(response.text, signature, jwks, {
      ppid: gus.ppids[saaq.id],
      service: 'saaq-permis',
      purpose: 'licence-renewal',
      maxAgeSeconds: 300,
    });
    expect(verified.released).toEqual([expect.objectContaining({ value: 'gus@exemple.ca' })]);

    // Presented as hal's: refused, whether the body is left as signed or edited to name hal.
    await expect(
      verifyDataResponse(response.text, signature, jwks, { ppid: hal.ppids[saaq.id] }),
    ).rejects.toMatchObject({ reason: 'citizen' });
    const edited = response.text.replace(gus.ppids[saaq.id], hal.ppids[saaq.id]);
    expect(edited).not.toBe(response.text);
    await expect(
      verifyDataResponse(edited, signature, jwks, { ppid: hal.ppids[saaq.id] }),
    ).rejects.toMatchObject({ reason: 'signature' });
    // Nor for another service or purpose.
    await expect(
      verifyDataResponse(response.text, signature, jwks, { ppid: gus.ppids[saaq.id], service: 'mess-aide' }),
    ).rejects.toMatchObject({ reason: 'service' });
    await expect(
      verifyDataResponse(response.text, signature, jwks, { ppid: gus.ppids[saaq.id], purpose: 'tax-credit' }),
    ).rejects.toMatchObject({ reason: 'purpose' });
  });
});
