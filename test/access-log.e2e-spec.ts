import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AccessLogService } from '#libs/access-log';
import { ReleaseStore } from '#libs/release';
import { runCli } from '../apps/cli/src/commands.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

describe('Access log: tamper-evident and append-only', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;
  const citizens: string[] = [];

  const superuser = <T>(work: (client: pg.Client) => Promise<T>) => withClient(db.url, work);
  const consentRequestsOf = (citizenId: string) =>
    superuser(
      async (c) =>
        (
          await c.query(`SELECT id, status FROM consent_request WHERE citizen_id = $1 ORDER BY id`, [
            citizenId,
          ])
        ).rows,
    );
  /** A citizen with an e-mail and a one-time consent for saaq-permis, approved from the service's request. */
  const withOnceEmailConsent = async (name: string) => {
    const citizenAuth = await vault.auth(`${name}-once`);
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(citizenAuth)
      .send({ value: `${name}@exemple.ca` })
      .expect(200);
    const auth = await broker.service('saaq-permis').auth();
    const created = await broker.http
      .post('/v1/consent-requests')
      .set(auth)
      .send({ purpose: 'licence-renewal', attributes: ['contact.email'], mode: 'once' })
      .expect(201);
    await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(citizenAuth).expect(200);
    const { citizen, consentId } = (
      await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(auth).expect(200)
    ).body;
    return { citizenAuth, auth, citizen, consentId };
  };
  const audit = async () => {
    const lines: string[] = [];
    const code = await runCli(['audit:verify'], testEnv(db, idp), {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    return { code, output: lines.join('\n') };
  };

  beforeAll(async () => {
    db = await createTestDatabase('accesslog');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('accesslog', { db, idp });
    broker = await startBroker(db, idp);
    const log = vault.app.get(AccessLogService);
    for (const subject of ['ana', 'ben', 'cleo']) {
      const exported = await vault.http
        .get('/v1/me/export')
        .set(await vault.auth(subject))
        .expect(200);
      citizens.push(exported.body.profile.id);
      for (let i = 0; i < 3; i++) {
        await vault.dataSource.transaction((em) =>
          log.append(em, {
            citizenId: exported.body.profile.id,
            serviceId: 'saaq-permis',
            organisationId: 'SAAQ',
            purpose: 'licence-renewal',
            requestId: randomUUID(),
            attributes: ['contact.email'],
            outcome: 'withheld',
            released: [],
            withheld: [{ attribute: 'contact.email', reason: 'consent_required' }],
            basis: [],
          }),
        );
      }
    }
    citizens.sort();
  });
  afterAll(async () => {
    await broker.close();
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  it('verifies intact chains', async () => {
    expect(await audit()).toEqual({
      code: 0,
      output: 'OK: 3 chains, 9 entries, 0 signed checkpoints verified.',
    });
  });

  it('refuses UPDATE and DELETE to the application role, and to anyone while the trigger stands', async () => {
    await superuser(async (client) => {
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE unefois_app');
      await expect(
        client.query(`UPDATE access_log_entry SET purpose = 'x' WHERE citizen_id = $1`, [citizens[0]]),
      ).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE unefois_app');
      await expect(
        client.query(`DELETE FROM access_log_entry WHERE citizen_id = $1`, [citizens[0]]),
      ).rejects.toThrow(/permission denied/);
      await client.query('ROLLBACK');
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE unefois_app');
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM access_log_entry`);
      expect(rows[0].n).toBe(9); // it still reads
      await client.query('ROLLBACK');
      // Even a superuser hits the trigger unless they deliberately switch it off.
      await expect(
        client.query(`UPDATE access_log_entry SET purpose = 'x' WHERE citizen_id = $1`, [citizens[0]]),
      ).rejects.toThrow(/append-only/);
      await expect(
        client.query(`DELETE FROM access_log_entry WHERE citizen_id = $1`, [citizens[0]]),
      ).rejects.toThrow(/append-only/);
    });
    expect((await audit()).code).toBe(0);
  });

  it('names the citizen and seq of an entry a superuser changed', async () => {
    const victim = citizens[1];
    await superuser(async (client) => {
      await client.query('BEGIN');
      await client.query(`SET LOCAL session_replication_role = replica`); // triggers off, as an intruder would
      await client.query(
        `UPDATE access_log_entry SET purpose = 'tax-credit' WHERE citizen_id = $1 AND seq = 2`,
        [victim],
      );
      await client.query('COMMIT');
    });
    expect(await audit()).toEqual({ code: 1, output: `BROKEN: citizen ${victim}, seq 2` });
  });

  it('logs no release when a one-time consent is revoked between the read and the write', async () => {
    const { citizenAuth: dora, auth, citizen, consentId } = await withOnceEmailConsent('dora');

    // The citizen's revocation lands just after the broker read the consent as active.
    const store = broker.app.get(ReleaseStore);
    const read = store.read;
    store.read = async (...args) => {
      store.read = read;
      const snapshot = await read.apply(store, args);
      await vault.http.delete(`/v1/me/consents/${consentId}`).set(dora).expect(200);
      return snapshot;
    };
    const response = await broker.http
      .post('/v1/data-requests')
      .set(auth)
      .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] })
      .expect(200);
    expect(response.body.released).toEqual([]);
    expect(response.body.withheld).toEqual([{ attribute: 'contact.email', reason: 'consent_required' }]);
    const log = (await vault.http.get('/v1/me/access-log').set(dora).expect(200)).body.entries;
    expect(log.map((e: { outcome: string }) => e.outcome)).toEqual(['withheld']);
    expect(store.read).toBe(read);
  });

  it('releases nothing when the database goes away as the log is written (fail closed, 503)', async () => {
    const { citizenAuth: alice, auth, citizen, consentId } = await withOnceEmailConsent('alice');
    const citizenId = (await vault.http.get('/v1/me/export').set(alice).expect(200)).body.profile.id;

    const metricsBefore = await superuser(
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'metric'`)).rows[0].n,
    );
    await superuser(async (client) => {
      // The connection dies under the append, as in a failover: the statement, and its transaction, roll back.
      await client.query(`CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.citizen_id = '${citizenId}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
        RETURN NEW; END $$`);
      await client.query(
        `CREATE TRIGGER refuse_log BEFORE INSERT ON access_log_entry FOR EACH ROW EXECUTE FUNCTION refuse_log()`,
      );
    });
    try {
      const response = await broker.http
        .post('/v1/data-requests')
        .set(auth)
        .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] });
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.headers['retry-after']).toBeDefined();
      expect(response.body.code).toBe('service_unavailable');
      expect(response.text).not.toContain('alice@exemple.ca');
      const consent = await superuser(
        async (c) => (await c.query(`SELECT status FROM consent WHERE id = $1`, [consentId])).rows[0],
      );
      expect(consent.status).toBe('active'); // the one-time consent was not used up
      const metricsAfter = await superuser(
        async (c) =>
          (await c.query(`SELECT count(*)::int AS n FROM outbox_event WHERE topic = 'metric'`)).rows[0].n,
      );
      expect(metricsAfter).toBe(metricsBefore);

      // A request that would also propose a consent request: the proposal is not kept either.
      const requestsBefore = await consentRequestsOf(citizenId);
      const proposing = await broker.http
        .post('/v1/data-requests')
        .set(auth)
        .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email', 'address.residential'] });
      expect(proposing.status).toBe(503);
      expect(proposing.body.consentRequest).toBeUndefined();
      expect(await consentRequestsOf(citizenId)).toEqual(requestsBefore);

      // An append refused for another reason is a fault, not an outage: a 500 with a correlation id, still nothing released.
      await superuser((client) =>
        client.query(`CREATE OR REPLACE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.citizen_id = '${citizenId}' THEN RAISE EXCEPTION 'log refused'; END IF; RETURN NEW; END $$`),
      );
      const faulty = await broker.http
        .post('/v1/data-requests')
        .set(auth)
        .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] });
      expect(faulty.status).toBe(500);
      expect(faulty.body).toMatchObject({ code: 'internal_error', correlationId: expect.any(String) });
      expect(faulty.text).not.toContain('alice@exemple.ca');
      expect(
        (await superuser((c) => c.query(`SELECT status FROM consent WHERE id = $1`, [consentId]))).rows[0]
          .status,
      ).toBe('active');
    } finally {
      await superuser(async (client) => {
        await client.query(`DROP TRIGGER refuse_log ON access_log_entry`);
        await client.query(`DROP FUNCTION refuse_log()`);
      });
    }
    const retry = await broker.http
      .post('/v1/data-requests')
      .set(auth)
      .send({ citizen, purpose: 'licence-renewal', attributes: ['contact.email'] })
      .expect(200);
    expect(retry.body.released).toEqual([
      expect.objectContaining({ attribute: 'contact.email', value: 'alice@exemple.ca' }),
    ]);
  });
});
