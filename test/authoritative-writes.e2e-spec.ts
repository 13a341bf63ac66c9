import { randomUUID } from 'node:crypto';
import { applyRegistry, loadRegistryFiles, RegistryService, type RegistryDocument } from '#libs/catalogue';
import { PairwiseIds } from '#libs/identity';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';

/** The demo registry, where saaq-permis was also granted writes the catalogue gives to others. */
function overGrantingRegistry(): {
  registry: RegistryDocument;
  catalogue: ReturnType<typeof loadRegistryFiles>['catalogue'];
} {
  const { registry, catalogue } = loadRegistryFiles('config/registry.yaml', 'config/catalogue.yaml');
  return {
    catalogue,
    registry: {
      ...registry,
      services: registry.services.map((service) =>
        service.id !== 'saaq-permis'
          ? service
          : {
              ...service,
              rights: [
                ...service.rights,
                ...['health.card_expiry', 'contact.email', 'contact.phone'].map((attribute) => ({
                  attribute,
                  access: 'write' as const,
                  purposes: [],
                })),
              ],
            },
      ),
    },
  };
}

describe('Authoritative writes follow the catalogue', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let broker: RunningBroker;
  let ppid: string;
  let citizenId: string;

  beforeAll(async () => {
    db = await createTestDatabase('authwrites');
    idp = await new TestIdentityProvider().start();
    broker = await startBroker(db, idp);
    // Written past the file checks (which refuse such rights), as a registry version applied before them could be.
    const { registry, catalogue } = overGrantingRegistry();
    await applyRegistry(broker.dataSource, registry, catalogue, {
      appliedBy: 'cli',
      production: false,
      allowDemoKeys: true,
    });
    await broker.app.get(RegistryService).reload();
    citizenId = randomUUID();
    ppid = await broker.dataSource.transaction(async (em) => {
      await em.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'test', $2)`, [
        citizenId,
        citizenId,
      ]);
      return broker.app.get(PairwiseIds).issue(em, 'SAAQ', citizenId);
    });
  });
  afterAll(async () => {
    await broker?.close();
    await idp.stop();
    await db.drop();
  });

  const valuesHeld = async () =>
    (
      await broker.dataSource.query(
        `SELECT attribute FROM attribute_value WHERE citizen_id = $1 ORDER BY 1`,
        [citizenId],
      )
    ).map((row: { attribute: string }) => row.attribute);

  it('the registry in force does grant saaq-permis those writes', () => {
    const service = broker.app.get(RegistryService).current().service('saaq-permis')!;
    expect(service.rights).toEqual(
      expect.arrayContaining([
        { attribute: 'health.card_expiry', access: 'write', purposes: [] },
        { attribute: 'contact.email', access: 'write', purposes: [] },
      ]),
    );
  });

  it.each([
    [
      'health.card_expiry',
      '2031-05-01',
      'The catalogue names RAMQ, not SAAQ, as the official source of health.card_expiry.',
    ],
    ['contact.email', 'alice@exemple.ca', 'contact.email is declared by the citizen; no service writes it.'],
    ['contact.phone', '+15145550100', 'contact.phone is declared by the citizen; no service writes it.'],
  ])(
    'refuses saaq-permis a write on %s, saying why, and writes nothing',
    async (attribute, value, detail) => {
      const response = await broker.http
        .put(`/v1/citizens/${ppid}/attributes/${attribute}`)
        .set(await broker.service('saaq-permis').auth())
        .send({ value });
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ code: 'forbidden', detail });
      expect(await valuesHeld()).toEqual([]);
    },
  );

  it('still lets saaq-permis write what SAAQ is the official source of', async () => {
    await broker.http
      .put(`/v1/citizens/${ppid}/attributes/licence.driver_expiry`)
      .set(await broker.service('saaq-permis').auth())
      .send({ value: '2030-01-31' })
      .expect(200);
    expect(await valuesHeld()).toEqual(['licence.driver_expiry']);
  });
});
