import { jest } from '@jest/globals';
import pg from 'pg';
import { createRemoteJWKSet, decodeProtectedHeader } from 'jose';
import { auditAccessLog, CHAIN_LOCKS_IN_PG_LOCKS, chainLockSql } from '#libs/access-log';
import { DATA_RESPONSE_TYP, ReleaseStore, verifyDataResponse } from '#libs/release';
import { runCli } from '../apps/cli/src/commands.js';
import {
  citizenWithEmailConsents,
  type Grant,
  type RunningBroker,
  startBroker,
} from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

/** Requests of this test's database waiting for a chain lock (a waiting advisory lock shows in pg_locks). */
const WAITING_FOR_A_CHAIN = `SELECT count(*)::int AS n FROM pg_locks
  WHERE ${CHAIN_LOCKS_IN_PG_LOCKS} AND NOT granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

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

  const citizenWithEmail = (subject: string, grants: Grant[]) =>
    citizenWithEmailConsents(vault, broker, subject, grants);

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
    // and the operator's check says so too.
    const lines: string[] = [];
    const code = await runCli(['audit:verify'], testEnv(db, idp), {
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect({ code, output: lines.join('\n') }).toEqual({ code: 0, output: expect.stringMatching(/^OK: /) });
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
      await holder.query(`SELECT ${chainLockSql('$1', 'wait')}`, [eve.id]);
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
        const { rows } = await holder.query(WAITING_FOR_A_CHAIN);
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // and the others have had time to pile up behind it (were each to hold a pooled connection, none would be left).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const waiting = await holder.query(WAITING_FOR_A_CHAIN);
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

  it('answers 503, nothing released, to a request that waited too long behind a stuck release for its citizen', async () => {
    const impatient = await startBroker(db, idp, { RELEASE_QUEUE_TIMEOUT_MILLISECONDS: '200' });
    const holder = new pg.Client({ connectionString: db.url });
    try {
      const ivy = await citizenWithEmail('ivy', [
        { service: broker.service('saaq-permis'), purpose: 'licence-renewal', mode: 'ongoing' },
      ]);
      const auth = await impatient.service('saaq-permis').auth();
      const ask = () =>
        impatient.http
          .post('/v1/data-requests')
          .set(auth)
          .send({
            citizen: { ppid: ivy.ppids['saaq-permis'] },
            purpose: 'licence-renewal',
            attributes: ['contact.email'],
          })
          .then((response) => response);
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`SELECT ${chainLockSql('$1', 'wait')}`, [ivy.id]);
      // Three requests: one waits on the chain's lock, which is not let go; two queue behind it in memory.
      const settled: Awaited<ReturnType<typeof ask>>[] = [];
      const asked = Array.from({ length: 3 }, () =>
        ask().then((response) => (settled.push(response), response)),
      );
      while (settled.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const timedOut = [...settled];
      expect(timedOut).toHaveLength(2);
      for (const response of timedOut) {
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.headers['retry-after']).toBeDefined();
        expect(response.body).toMatchObject({ type: 'urn:une-fois:problem:service_unavailable' });
        expect(response.body.released).toBeUndefined();
      }
      expect((await holder.query(WAITING_FOR_A_CHAIN)).rows[0].n).toBe(1);
      await holder.query('COMMIT');
      const served = (await Promise.all(asked)).filter((response) => !timedOut.includes(response));
      expect(served.map((response) => response.status)).toEqual([200]);
      // Only the request served is in the chain, and the queue serves the next one at once.
      expect(await chainOf(ivy.id)).toEqual([1]);
      expect((await ask()).status).toBe(200);
    } finally {
      await holder.end();
      await impatient.close();
    }
  });

  it('answers a value that does not open with 500 and a correlation id, not a 503 to retry; nothing released or logged', async () => {
    const saaq = broker.service('saaq-permis');
    const joe = await citizenWithEmail('joe', [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
    ]);
    // One bit of the stored ciphertext flipped: its authentication tag no longer holds.
    await withClient(db.url, (client) =>
      client.query(
        `UPDATE attribute_value
            SET ciphertext = set_byte(ciphertext, length(ciphertext) - 1, get_byte(ciphertext, length(ciphertext) - 1) # 1)
          WHERE citizen_id = $1`,
        [joe.id],
      ),
    );
    const response = await broker.http
      .post('/v1/data-requests')
      .set(await saaq.auth())
      .send({
        citizen: { ppid: joe.ppids[saaq.id] },
        purpose: 'licence-renewal',
        attributes: ['contact.email'],
      });
    expect(response.status).toBe(500);
    expect(response.headers['retry-after']).toBeUndefined();
    expect(response.body).toMatchObject({
      type: 'urn:une-fois:problem:internal_error',
      correlationId: expect.any(String),
    });
    expect(response.body.released).toBeUndefined();
    expect(await chainOf(joe.id)).toEqual([]);
  });

  it.each([
    ['a data request lacking consent', 'data-requests', 'kim'],
    ['a consent request addressed to the citizen', 'consent-requests', 'lou'],
  ])(
    'leaves no consent request pending for a citizen erased while %s was under way',
    async (_, route, name) => {
      const saaq = broker.service('saaq-permis');
      const citizen = await citizenWithEmail(name, [
        { service: saaq, purpose: 'licence-renewal', mode: 'once' },
      ]);
      const auth = await saaq.auth();
      const ask = () =>
        broker.http
          .post(`/v1/${route}`)
          .set(auth)
          .send({
            citizen: { ppid: citizen.ppids[saaq.id] },
            purpose: 'licence-renewal',
            attributes: ['contact.email'],
            ...(route === 'consent-requests' ? { mode: 'once' } : {}),
          })
          .then((response) => response);
      // The one-time consent is used up: a data request now lacks consent and proposes a consent request.
      if (route === 'data-requests') expect((await ask()).body.released).toHaveLength(1);
      const chainBefore = await chainOf(citizen.id);
      const waiters = `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                      WHERE NOT l.granted AND a.datname = current_database()`;
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        // A write in flight holds the citizen; the erasure queues behind it, then the request, which has found the citizen.
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM citizen WHERE id = $1 FOR NO KEY UPDATE`, [citizen.id]);
        const erasing = vault.http
          .delete('/v1/me')
          .set(citizen.auth)
          .then((response) => response);
        while ((await holder.query(waiters)).rows[0].n < 1)
          await new Promise((resolve) => setTimeout(resolve, 20));
        let requestSettled = false;
        const asking = ask().then((response) => ((requestSettled = true), response));
        while ((await holder.query(waiters)).rows[0].n < 2 && !requestSettled)
          await new Promise((resolve) => setTimeout(resolve, 20));
        expect(requestSettled).toBe(false); // it waits for the citizen, behind the erasure
        await holder.query('COMMIT');
        expect((await erasing).status).toBe(200);
        const refused = await asking;
        expect(refused.status).toBe(404);
        expect(refused.body).toMatchObject({ type: 'urn:une-fois:problem:citizen_not_found' });
        expect(refused.body.released).toBeUndefined();
      } finally {
        await holder.end();
      }
      const pending = await broker.dataSource.query(
        `SELECT id FROM consent_request WHERE citizen_id = $1 AND status = 'pending'`,
        [citizen.id],
      );
      expect(pending).toEqual([]);
      expect(await chainOf(citizen.id)).toEqual(chainBefore);
    },
  );

  it('reads the requests arriving at once for many citizens in one statement, each answered with its own citizen only', async () => {
    const saaq = broker.service('saaq-permis');
    const mess = broker.service('mess-aide');
    const grants: Grant[] = [
      { service: saaq, purpose: 'licence-renewal', mode: 'ongoing' },
      { service: mess, purpose: 'benefit-application', mode: 'ongoing' },
    ];
    const citizens = [];
    for (const name of ['reader-1', 'reader-2', 'reader-3', 'reader-4'])
      citizens.push({ name, ...(await citizenWithEmail(name, grants)) });
    const asks = citizens.flatMap((citizen) => [
      { citizen, organisation: 'SAAQ', service: saaq, purpose: 'licence-renewal' },
      { citizen, organisation: 'MESS', service: mess, purpose: 'benefit-application' },
    ]);

    // Reads asked in one turn of the event loop are one statement; each gets its own citizen's snapshot.
    const store = broker.app.get(ReleaseStore);
    const pool = (broker.dataSource.driver as unknown as { master: pg.Pool }).master;
    const statements = jest.spyOn(pool, 'query');
    let snapshots;
    let calls;
    try {
      snapshots = await Promise.all([
        ...asks.map(({ citizen, organisation, service, purpose }) =>
          store.read(null, organisation, citizen.ppids[service.id], service.id, purpose, ['contact.email']),
        ),
        // a pairwise id of MESS asked as SAAQ's: no one
        store.read(null, 'SAAQ', citizens[0].ppids[mess.id], saaq.id, 'licence-renewal', ['contact.email']),
      ]);
    } finally {
      calls = statements.mock.calls.length;
      statements.mockRestore();
    }
    expect(calls).toBe(1);
    expect(snapshots.at(-1)).toBeNull();
    asks.forEach(({ citizen }, i) =>
      expect(snapshots[i]).toMatchObject({
        citizenId: citizen.id,
        consents: [expect.objectContaining({ attributes: ['contact.email'], mode: 'ongoing' })],
        held: [expect.objectContaining({ attribute: 'contact.email' })],
      }),
    );

    // Over HTTP: every citizen from both services, five times, at once, and an unknown pairwise id among them.
    const auths = { [saaq.id]: await saaq.auth(), [mess.id]: await mess.auth() };
    const burst = [...asks, ...asks, ...asks, ...asks, ...asks];
    const [unknown, ...responses] = await Promise.all([
      broker.http
        .post('/v1/data-requests')
        .set(auths[saaq.id])
        .send({
          citizen: { ppid: citizens[0].ppids[mess.id] },
          purpose: 'licence-renewal',
          attributes: ['contact.email'],
        }),
      ...burst.map(({ citizen, service, purpose }) =>
        broker.http
          .post('/v1/data-requests')
          .set(auths[service.id])
          .send({ citizen: { ppid: citizen.ppids[service.id] }, purpose, attributes: ['contact.email'] }),
      ),
    ]);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('citizen_not_found');
    responses.forEach((response, i) => {
      expect(response.status).toBe(200);
      expect(response.body.released).toEqual([
        expect.objectContaining({ attribute: 'contact.email', value: `${burst[i].citizen.name}@exemple.ca` }),
      ]);
    });
    for (const citizen of citizens) expect(await chainOf(citizen.id)).toHaveLength(10);
    expect(await auditAccessLog(broker.dataSource)).toMatchObject({ broken: null });
  });
});
