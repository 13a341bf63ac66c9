import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ConsentsService } from '#libs/consent';
import { onceEventId } from '#libs/outbox';
import { AttributesService } from '#libs/vault';
import { runCli } from '../apps/cli/src/commands.js';
import { domainContext } from '../apps/cli/src/domain-context.js';
import { BENCH_WRITER, bulkSeed, type BulkSeedResult, DEMO_VALUES } from '../bench/bulk-seed.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

const CITIZENS = 50;
const ENTRIES = 4;
const HELD = Object.keys(DEMO_VALUES);
const CONSENTED = ['address.residential', 'contact.email', 'identity.birthdate'];
const CONSENT = {
  service: 'saaq-permis',
  organisationId: 'SAAQ',
  purpose: 'licence-renewal',
  attributes: CONSENTED,
};

/** A citizen's rows in every table the seeder writes, without what differs by nature (ids, times, ciphertexts). */
async function rowsOf(dataSource: DataSource, citizenId: string) {
  const query = (sql: string) => dataSource.query(sql, [citizenId]);
  return {
    citizen: await query(`SELECT language, channels, quiet_hours, erased_at FROM citizen WHERE id = $1`),
    citizen_key: await query(
      `SELECT master_key_id, master_key_version, length(wrapped_key) AS wrapped, rotated_at
         FROM citizen_key WHERE citizen_id = $1`,
    ),
    attribute_value: await query(
      `SELECT attribute, source_kind, source_organisation_id, written_by, revision, length(ciphertext) AS sealed
         FROM attribute_value WHERE citizen_id = $1 ORDER BY attribute`,
    ),
    // (write() records written_at from the Date of RETURNING updated_at: to the millisecond.)
    attribute_history: await query(
      `SELECT h.attribute, h.revision, h.source_kind, h.source_organisation_id, h.written_by,
              h.ciphertext = v.ciphertext AS same_ciphertext, abs(extract(epoch FROM h.written_at - v.updated_at)) < 0.001 AS same_time
         FROM attribute_history h JOIN attribute_value v USING (citizen_id, attribute)
        WHERE citizen_id = $1 ORDER BY attribute, revision`,
    ),
    consent: await query(
      `SELECT service_id, organisation_id, purpose, attributes, mode, status, expires_at, revoked_at, used_at,
              consent_request_id, registry_version
         FROM consent WHERE citizen_id = $1`,
    ),
    pairwise_id: await query(`SELECT organisation_id, ppid FROM pairwise_id WHERE citizen_id = $1`),
  };
}

/** The foreign keys to citizen of the tables the seeder loads, as the migrations make them. */
const FOREIGN_KEYS = [
  'access_log_entry_citizen_fk',
  'attribute_history_citizen_fk',
  'attribute_value_citizen_fk',
  'citizen_key_citizen_fk',
  'consent_citizen_fk',
  'pairwise_id_citizen_fk',
].map((conname) => ({ conname, convalidated: true }));

const citizenForeignKeys = (dataSource: DataSource) =>
  dataSource.query(
    `SELECT conname, convalidated FROM pg_constraint
      WHERE contype = 'f' AND confrelid = 'citizen'::regclass AND conrelid::regclass::text = ANY ($1)
      ORDER BY 1`,
    [['citizen_key', 'attribute_value', 'attribute_history', 'consent', 'pairwise_id', 'access_log_entry']],
  );

describe('bench/bulk-seed: citizens loaded by COPY, served like those the services wrote', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;
  let seeded: BulkSeedResult;

  beforeAll(async () => {
    db = await createTestDatabase('bulkseed');
    idp = await new TestIdentityProvider().start();
    // The vault applies the registry at boot (test mode); the seeder reads the one in force.
    vault = await startVault('bulkseed', { db, idp });
    broker = await startBroker(db, idp);
    seeded = await bulkSeed({
      databaseUrl: db.url,
      env: testEnv(db, idp),
      citizens: CITIZENS,
      attributes: HELD,
      consent: CONSENT,
      logEntriesPerCitizen: ENTRIES,
      // The vault finds a citizen by its token's issuer and subject.
      issuer: idp.issuer,
      subjectPrefix: 'bulk-',
    });
  });
  afterAll(async () => {
    await broker?.close();
    await vault?.close();
    await idp?.stop();
    await db?.drop();
  });

  it('writes, for the same inputs, the rows AttributesService.write and ConsentsService.grantIn write', async () => {
    expect(seeded.citizenIds).toHaveLength(CITIZENS);
    expect(seeded.rows).toMatchObject({
      citizen: CITIZENS,
      citizen_key: CITIZENS,
      attribute_value: CITIZENS * HELD.length,
      attribute_history: CITIZENS * HELD.length,
      consent: CITIZENS,
      pairwise_id: CITIZENS,
      access_log_entry: CITIZENS * ENTRIES,
    });
    // The foreign keys to citizen it loaded without are back as the migrations made them, checked.
    expect(await citizenForeignKeys(broker.dataSource)).toEqual(FOREIGN_KEYS);
    // A reference citizen written through the real services, as bench/broker.bench.ts's seed() does.
    const app = await domainContext(testEnv(db, idp));
    const reference = randomUUID();
    try {
      await app.get(DataSource).transaction(async (em) => {
        await em.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'reference', 'reference')`, [
          reference,
        ]);
        for (const code of HELD)
          await app
            .get(AttributesService)
            .write(em, reference, code, DEMO_VALUES[code] as never, BENCH_WRITER);
        await app.get(ConsentsService).grantIn(em, reference, { ...CONSENT, mode: 'ongoing' }, null);
      });
    } finally {
      await app.close();
    }
    const expected = await rowsOf(broker.dataSource, reference);
    expect(expected.attribute_value).toHaveLength(12);
    for (const i of [0, 17, CITIZENS - 1]) {
      const rows = await rowsOf(broker.dataSource, seeded.citizenIds[i]);
      expect({ ...rows, pairwise_id: rows.pairwise_id.map((r: object) => ({ ...r, ppid: '' })) }).toEqual({
        ...expected,
        pairwise_id: expected.pairwise_id.map((r: object) => ({ ...r, ppid: '' })),
      });
      expect(rows.pairwise_id[0].ppid).toBe(seeded.ppids[i]);
    }
    const [citizen] = await broker.dataSource.query(`SELECT issuer, subject FROM citizen WHERE id = $1`, [
      seeded.citizenIds[17],
    ]);
    expect(citizen).toEqual({ issuer: idp.issuer, subject: 'bulk-17' });

    // grantIn's consent.granted metric event, one per consent (the reference's included), alike.
    const granted = await broker.dataSource.query(
      `SELECT topic, service_id, url, data, status, attempts, count(*)::int AS n FROM outbox_event
        WHERE type = 'consent.granted' GROUP BY 1, 2, 3, 4, 5, 6`,
    );
    expect(granted).toEqual([
      {
        topic: 'metric',
        service_id: null,
        url: null,
        data: { organisation: 'SAAQ', service: 'saaq-permis', purpose: 'licence-renewal', mode: 'ongoing' },
        status: 'pending',
        attempts: 0,
        n: CITIZENS + 1,
      },
    ]);
    // and the broker's service.active event of each Montréal day with a logged release, by its own id.
    const days: { day: string }[] = await broker.dataSource.query(
      `SELECT DISTINCT to_char(at AT TIME ZONE 'America/Montreal', 'YYYY-MM-DD') AS day FROM access_log_entry`,
    );
    const active: { id: string; data: { day: string } }[] = await broker.dataSource.query(
      `SELECT id, data FROM outbox_event WHERE type = 'service.active'`,
    );
    expect(active.map((e) => e.data.day).sort()).toEqual(days.map((d) => d.day).sort());
    for (const event of active)
      expect(event.id).toBe(onceEventId('service.active', 'saaq-permis', event.data.day));
  });

  it('logs a year of releases per citizen in time order, each chained from genesis', async () => {
    const entries: { seq: string; at: Date; citizen_id: string }[] = await broker.dataSource.query(
      `SELECT citizen_id, seq, at FROM access_log_entry ORDER BY at`,
    );
    expect(entries).toHaveLength(CITIZENS * ENTRIES);
    const yearAgo = Date.now() - 365 * 86_400_000;
    expect(entries[0].at.getTime()).toBeGreaterThanOrEqual(yearAgo - 60_000);
    expect(entries[0].at.getTime()).toBeLessThan(yearAgo + 86_400_000);
    expect(entries.at(-1)!.at.getTime()).toBeLessThan(Date.now());
    // Each citizen's entries 1…ENTRIES, in that order in time.
    const seqs = new Map<string, number[]>();
    for (const e of entries) seqs.set(e.citizen_id, [...(seqs.get(e.citizen_id) ?? []), Number(e.seq)]);
    expect(new Set([...seqs.values()].map((s) => s.join()))).toEqual(new Set(['1,2,3,4']));
  });

  it("the broker releases a seeded citizen's values under the consent and appends to their chain", async () => {
    const i = 7;
    const citizenId = seeded.citizenIds[i];
    const response = await broker.http
      .post('/v1/data-requests')
      .set(await broker.service('saaq-permis').auth())
      .send({ citizen: { ppid: seeded.ppids[i] }, purpose: 'licence-renewal', attributes: CONSENTED })
      .expect(200);
    expect(response.headers['x-jws-signature']).toEqual(expect.any(String));
    expect(response.body.withheld).toEqual([]);
    expect(response.body.released).toEqual(
      CONSENTED.map((attribute) =>
        expect.objectContaining({ attribute, value: DEMO_VALUES[attribute], source: 'SAAQ' }),
      ),
    );
    const chain = await broker.dataSource.query(
      `SELECT seq::int, service_id, organisation_id, purpose, request_id, attributes, outcome, released, withheld,
              basis, prev_hash, hash
         FROM access_log_entry WHERE citizen_id = $1 ORDER BY seq`,
      [citizenId],
    );
    expect(chain.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const [consent] = await broker.dataSource.query(`SELECT id FROM consent WHERE citizen_id = $1`, [
      citizenId,
    ]);
    // The broker's own entry is what the seeder wrote for each earlier release, but for its request and place.
    const [seededEntry, brokerEntry] = chain.slice(-2);
    const what = ({ seq: _s, request_id: _r, prev_hash: _p, hash: _h, ...rest }: Record<string, unknown>) =>
      rest;
    expect(what(brokerEntry)).toEqual(what(seededEntry));
    expect(brokerEntry.basis).toEqual(
      CONSENTED.map((attribute) => ({ attribute, kind: 'consent', consentId: consent.id })),
    );
    expect(brokerEntry.request_id).toBe(response.body.requestId);
    expect(brokerEntry.prev_hash).toBe(seededEntry.hash);
  });

  it('the vault shows a seeded citizen every value held, opened, and their access log', async () => {
    const i = 3;
    const auth = await vault.auth(`bulk-${i}`);
    const before = await vault.dataSource.query(`SELECT count(*)::int AS n FROM citizen`);
    const me = await vault.http.get('/v1/me').set(auth).expect(200);
    expect(me.body.attributes).toHaveLength(HELD.length);
    expect(me.body.attributes).toEqual(
      [...HELD]
        .sort()
        .map((attribute) =>
          expect.objectContaining({ attribute, value: DEMO_VALUES[attribute], source: 'SAAQ' }),
        ),
    );
    const exported = await vault.http.get('/v1/me/export').set(auth).expect(200);
    expect(exported.body.profile.id).toBe(seeded.citizenIds[i]);
    expect(exported.body.attributeHistory).toHaveLength(HELD.length);
    expect(exported.body.pairwiseIds).toEqual([
      expect.objectContaining({ organisation: 'SAAQ', ppid: seeded.ppids[i] }),
    ]);
    expect(exported.body.consents).toEqual([
      expect.objectContaining({ service: 'saaq-permis', status: 'active', attributes: CONSENTED }),
    ]);
    const log = await vault.http.get('/v1/me/access-log').set(auth).expect(200);
    expect(log.body.entries.map((e: { seq: number }) => e.seq)).toEqual([4, 3, 2, 1]);
    expect(log.body.head).toEqual({ seq: 4, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The seeded profile was found, not a new one made.
    expect(await vault.dataSource.query(`SELECT count(*)::int AS n FROM citizen`)).toEqual(before);
  });

  it('fails on a subject already seeded, writing nothing and putting the foreign keys back', async () => {
    const count = () => broker.dataSource.query(`SELECT count(*)::int AS n FROM citizen_key`);
    const before = await count();
    await expect(
      bulkSeed({
        databaseUrl: db.url,
        env: testEnv(db, idp),
        citizens: 1,
        attributes: HELD,
        consent: CONSENT,
        logEntriesPerCitizen: 1,
        issuer: idp.issuer,
        subjectPrefix: 'bulk-',
      }),
    ).rejects.toThrow(/^COPY citizen: .*citizen_issuer_subject_uq/);
    expect(await count()).toEqual(before);
    expect(await citizenForeignKeys(broker.dataSource)).toEqual(FOREIGN_KEYS);
  });

  it('passes audit:verify', async () => {
    const lines: string[] = [];
    const code = await runCli(['audit:verify'], testEnv(db, idp), {
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect({ code, output: lines.join('\n') }).toEqual({
      code: 0,
      output: expect.stringMatching(new RegExp(`^OK: ${CITIZENS} chains, ${CITIZENS * ENTRIES + 1} entries`)),
    });
  });
});
