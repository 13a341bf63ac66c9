import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { dataSourceOptions } from '#libs/database';
import {
  type ClaimedEvent,
  OutboxRelayService,
  OutboxService,
  WebhookDeliveryService,
  webhookBacklogLimit,
} from '#libs/outbox';
import { MetricDeliveryService } from '#libs/metrics';
import { JOB_CATALOGUE, JOBS, QueueService } from '#libs/queues';
import { OutboxRelayWorker } from '../apps/scheduler/src/outbox/outbox-relay-worker.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { testEnv } from './support/vault-app.js';

/** Two scheduler replicas, each with its own connections, claiming from one outbox. */
describe('Claiming webhooks from the outbox', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  const dataSources: DataSource[] = [];
  let replicas: OutboxRelayService[];
  let delivery: WebhookDeliveryService;
  /** A receiver on loopback: counts what it is sent, answers each request when the test says. */
  const received: string[] = [];
  const waiting: ServerResponse[] = [];
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push(String(request.headers['x-une-fois-event-id']));
      waiting.push(response);
    });
  });
  let receiverUrl = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    db = await createTestDatabase('outboxclaims');
    idp = await new TestIdentityProvider().start();
    const config = AppConfig.fromEnvironment(testEnv(db, idp, { WEBHOOK_CONCURRENCY_PER_SERVICE: '2' }));
    for (let i = 0; i < 2; i++)
      dataSources.push(await new DataSource(dataSourceOptions(db.url, 2)).initialize());
    replicas = dataSources.map((dataSource) => new OutboxRelayService(dataSource, config));
    delivery = new WebhookDeliveryService(dataSources[1], new PlatformSigner(config.signingKeys), config);
  });
  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    for (const dataSource of dataSources) await dataSource.destroy();
    await idp.stop();
    await db.drop();
  });

  async function events(serviceId: string, count: number, url?: string): Promise<string[]> {
    const outbox = new OutboxService();
    return dataSources[0].transaction(async (em) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++)
        ids.push(
          await outbox.webhook(em, {
            type: 'consent.granted',
            serviceId,
            url: url ?? `https://${serviceId}.example/hooks`,
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

  const claimOf = (event: ClaimedEvent) => new Date(event.leasedUntil).toISOString();

  async function row(id: string) {
    const [found] = await dataSources[0].query(
      `SELECT status, attempts, last_error, leased_until, next_attempt_at FROM outbox_event WHERE id = $1`,
      [id],
    );
    return found as {
      status: string;
      attempts: number;
      last_error: string | null;
      leased_until: Date | null;
      next_attempt_at: Date;
    };
  }

  /** Claims due events and keeps the one of that id. */
  async function claim(id: string): Promise<ClaimedEvent> {
    const claimed = (await replicas[0].claimDueWebhooks()).find((event) => event.id === id);
    if (!claimed) throw new Error(`event ${id} not claimed`);
    return claimed;
  }

  /** As if the claim's lease had run out with its job still waiting in the queue. */
  async function runOutLease(id: string): Promise<void> {
    await dataSources[0].query(
      `UPDATE outbox_event SET leased_until = now() - interval '1 second', next_attempt_at = now() - interval '1 second'
       WHERE id = $1`,
      [id],
    );
  }

  async function answerNext(status: number): Promise<void> {
    while (waiting.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    waiting.shift()!.writeHead(status).end();
  }

  it('runs a job only under a live claim: a job whose lease ran out does nothing, and the claim after it counts every attempt', async () => {
    const [id] = await events('rq-impot', 1, receiverUrl);
    const stale = await claim(id);
    await runOutLease(id);

    // Its lease over and the event not yet claimed again: the late job still does nothing.
    const [{ leased_until: expired }] = await dataSources[0].query(
      `SELECT leased_until FROM outbox_event WHERE id = $1`,
      [id],
    );
    expect(await delivery.deliver(id, (expired as Date).toISOString())).toBe('skipped');

    const live = await claim(id);
    expect(await delivery.deliver(id, claimOf(stale))).toBe('skipped');
    expect(received).toEqual([]); // the stale job sent nothing
    expect((await row(id)).leased_until?.getTime()).toBe(live.leasedUntil); // nor ended the live lease

    // The live claim's job delivers; its failure is counted once, and so is the success after it.
    const failed = delivery.deliver(id, claimOf(live));
    await answerNext(503);
    expect(await failed).toBe('retry');
    expect(await row(id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_error: 'HTTP 503',
      leased_until: null,
    });

    await runOutLease(id); // due again at once, rather than after the backoff
    const next = await claim(id);
    const delivered = delivery.deliver(id, claimOf(next));
    await answerNext(204);
    expect(await delivered).toBe('delivered');
    expect(await row(id)).toMatchObject({
      status: 'delivered',
      attempts: 2,
      last_error: null,
      leased_until: null,
    });
    expect(received).toEqual([id, id]);
  });

  it.each([204, 500])(
    'records nothing of an attempt whose claim was replaced while it ran (answered %i)',
    async (status) => {
      received.length = 0;
      const [id] = await events('rq-impot', 1, receiverUrl);
      const first = await claim(id);
      const attempt = delivery.deliver(id, claimOf(first));
      while (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));

      // Meanwhile the attempt's lease runs out and the relay claims the event again.
      await runOutLease(id);
      const second = await claim(id);
      await answerNext(status);
      expect(await attempt).toBe('lease-lost');
      const after = await row(id);
      expect(after).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
      expect(after.leased_until?.getTime()).toBe(second.leasedUntil); // the live claim keeps its lease

      // The live claim's job then delivers it, same id.
      const retried = delivery.deliver(id, claimOf(second));
      await answerNext(204);
      expect(await retried).toBe('delivered');
      expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(received).toEqual([id, id]);
    },
  );

  /** The relay of the first replica, queueing into Redis with no worker to run the jobs. */
  function relayWorker(config: AppConfig): { worker: OutboxRelayWorker; queues: QueueService } {
    const queues = new QueueService(config, JOB_CATALOGUE);
    const metrics = new MetricDeliveryService(dataSources[1], new PlatformSigner(config.signingKeys), config);
    return { worker: new OutboxRelayWorker(config, replicas[0], delivery, metrics, queues), queues };
  }

  it('claims no more than the workers can start within the lease', async () => {
    expect(webhookBacklogLimit(16, 10_000)).toBe(80); // the 80th starts after four rounds of 10 s, two deadlines before the 60 s lease ends
    expect(webhookBacklogLimit(16, 30_000)).toBe(16);

    // Two slots, 30 s deadlines: two jobs waiting or running are all the 60 s lease can cover.
    const config = AppConfig.fromEnvironment(
      testEnv(db, idp, { WEBHOOK_CONCURRENCY: '2', WEBHOOK_TIMEOUT_SECONDS: '30' }),
    );
    const { worker, queues } = relayWorker(config);
    try {
      await events('backlog-a', 1);
      await events('backlog-b', 1);
      await events('backlog-c', 1);
      expect(await worker.relayWebhooks()).toBe(2);
      expect(await queues.backlog(JOBS.deliverWebhook)).toBe(2);
      // No worker runs here: the two jobs still wait, so nothing more is claimed.
      expect(await worker.relayWebhooks()).toBe(0);
    } finally {
      await queues.onApplicationShutdown();
    }
  });

  it('claims metric events batch after batch while they come full, up to the backlog limit', async () => {
    const { worker, queues } = relayWorker(AppConfig.fromEnvironment(testEnv(db, idp)));
    try {
      await dataSources[0].query(
        `INSERT INTO outbox_event (id, topic, type, data)
         SELECT gen_random_uuid(), 'metric', 'deadline.registered', '{}' FROM generate_series(1, 2300)`,
      );
      // Four batches of 500 in one pass: the backlog's limit, not one batch per poll.
      expect(await worker.relayMetrics()).toBe(2000);
      expect(await queues.backlog(JOBS.deliverMetrics)).toBe(4);
      // No worker runs here: the four jobs still wait, so nothing more is claimed.
      expect(await worker.relayMetrics()).toBe(0);
    } finally {
      await queues.onApplicationShutdown();
      await dataSources[0].query(`DELETE FROM outbox_event WHERE topic = 'metric'`);
    }
  });

  it('leaves half the worker slots to services that answer, however many receivers fail', async () => {
    // Four delivery slots per scheduler: at most two for failing services' events, over every replica.
    const config = AppConfig.fromEnvironment(
      testEnv(db, idp, { WEBHOOK_CONCURRENCY: '4', WEBHOOK_CONCURRENCY_PER_SERVICE: '2' }),
    );
    const relays = dataSources.map((dataSource) => new OutboxRelayService(dataSource, config));
    const failing = [
      ...(await events('stalled-a', 1)),
      ...(await events('stalled-b', 1)),
      ...(await events('stalled-c', 1)),
    ];
    // Each of them has had an attempt cut at its deadline.
    await dataSources[0].query(
      `UPDATE outbox_event SET attempts = 1, last_error = 'no complete answer within 10000 ms' WHERE id = ANY($1)`,
      [failing],
    );
    const answering = await events('answering', 2);

    const claims = await Promise.all(relays.map((relay) => relay.claimDueWebhooks()));
    const claimed = claims.flat().map((event) => event.id);
    expect(claimed.filter((id) => failing.includes(id))).toHaveLength(2);
    expect(claimed.filter((id) => answering.includes(id)).sort()).toEqual([...answering].sort());

    // The third failing service waits for one of the two in flight to end.
    expect((await relays[0].claimDueWebhooks()).map((event) => event.id)).not.toContain(
      failing.find((id) => !claimed.includes(id)),
    );
  });

  it('leaves an event to the job that took it while a claim waited on its row', async () => {
    const [id] = await events('racing', 1);
    await runOutLease(id);
    const taken = await withClient(db.url, async (job) => {
      // A job starting its attempt at that instant: its new lease is written, not yet committed.
      await job.query('BEGIN');
      const [{ leased_until }] = (
        await job.query(
          `UPDATE outbox_event SET leased_until = date_trunc('milliseconds', now() + interval '25 seconds')
           WHERE id = $1 RETURNING leased_until`,
          [id],
        )
      ).rows;
      // The claim still sees the lease run out, and waits on the row.
      const claiming = replicas[1].claimDueWebhooks();
      await withClient(db.url, async (watcher) => {
        for (;;) {
          const { rows } = await watcher.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          if (rows.length > 0) return;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      });
      await job.query('COMMIT');
      expect((await claiming).map((event) => event.id)).not.toContain(id);
      return leased_until as Date;
    });
    expect((await row(id)).leased_until?.getTime()).toBe(taken.getTime());
  });
});
