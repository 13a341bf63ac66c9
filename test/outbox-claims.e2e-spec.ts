import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { dataSourceOptions } from '#libs/database';
import { OutboxRelayService, OutboxService } from '#libs/outbox';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { testEnv } from './support/vault-app.js';

/** Two scheduler replicas, each with its own connections, claiming from one outbox. */
describe('Claiming webhooks from the outbox', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  const dataSources: DataSource[] = [];
  let replicas: OutboxRelayService[];

  beforeAll(async () => {
    db = await createTestDatabase('outboxclaims');
    idp = await new TestIdentityProvider().start();
    const config = AppConfig.fromEnvironment(testEnv(db, idp, { WEBHOOK_CONCURRENCY_PER_SERVICE: '2' }));
    for (let i = 0; i < 2; i++)
      dataSources.push(await new DataSource(dataSourceOptions(db.url, 2)).initialize());
    replicas = dataSources.map((dataSource) => new OutboxRelayService(dataSource, config));
  });
  afterAll(async () => {
    for (const dataSource of dataSources) await dataSource.destroy();
    await idp.stop();
    await db.drop();
  });

  async function events(serviceId: string, count: number): Promise<string[]> {
    const outbox = new OutboxService();
    return dataSources[0].transaction(async (em) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++)
        ids.push(
          await outbox.webhook(em, {
            type: 'consent.granted',
            serviceId,
            url: `https://${serviceId}.example/hooks`,
            data: { n: i },
          }),
        );
      return ids;
    });
  }

  it('keeps each service at its cap of events in flight, over every replica claiming at once', async () => {
    const busy = await events('saaq-permis', 6);
    const quiet = await events('ramq-carte', 1);
    const claims = await Promise.all([...replicas, ...replicas].map((relay) => relay.claimDueWebhooks()));
    const claimed = claims.flat().map((event) => event.id);
    expect(new Set(claimed).size).toBe(claimed.length); // no event claimed twice
    expect(claimed.filter((id) => busy.includes(id))).toHaveLength(2); // the cap, though six are due
    expect(claimed.filter((id) => quiet.includes(id))).toEqual(quiet);

    // Still in flight: nothing more for either service until an attempt ends or a lease runs out.
    expect(await replicas[1].claimDueWebhooks()).toEqual([]);
  });
});
