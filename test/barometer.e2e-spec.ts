import { PlatformSigner } from '#libs/crypto';
import type { RunningApp } from './support/apps.js';
import { JwksServer, metricEvent, newSigningKey, signedBatch, startBarometer } from './support/barometer.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';

const platform = new PlatformSigner([newSigningKey('platform-1')]);
const stranger = new PlatformSigner([newSigningKey('platform-1')]);

describe('Barometer: POST /v1/events', () => {
  let db: TestDatabase;
  let jwks: JwksServer;
  let barometer: RunningApp;

  beforeAll(async () => {
    db = await createTestDatabase('barometer');
    jwks = await new JwksServer(platform).start();
    barometer = await startBarometer(db, jwks.url, {
      BODY_LIMIT_BYTES: String(300 * 1024),
      // A kid not seen yet fetches the keys again at once: the outage below is then met.
      JWKS_REFETCH_COOLDOWN_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await barometer?.close();
    await jwks?.stop();
    await db?.drop();
  });

  const stored = () =>
    withClient(db.url, async (client) =>
      Number((await client.query('SELECT count(*) FROM barometer.event')).rows[0].count),
    );

  const post = (body: string, headers: Record<string, string>) =>
    barometer.http.post('/v1/events').set(headers).send(body);

  const active = (service: string, organisation: string, day: string) =>
    metricEvent('service.active', { service, organisation, day });

  it('keeps its events in a schema of its own, migrated at boot', async () => {
    const tables = await withClient(db.url, async (client) =>
      (
        await client.query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'barometer' ORDER BY 1`,
        )
      ).rows.map((row) => row.table_name),
    );
    expect(tables).toEqual(['event', 'migration']);
  });

  it('stores a signed batch, and ignores the ids it already holds when the batch comes again', async () => {
    const events = [active('saaq-permis', 'SAAQ', '2027-03-10'), active('ramq-carte', 'RAMQ', '2027-03-10')];
    const batch = await signedBatch(events, platform);
    const first = await post(batch.body, batch.headers).expect(200);
    expect(first.body).toEqual({ received: 2, stored: 2, duplicates: 0 });
    const again = await post(batch.body, batch.headers).expect(200);
    expect(again.body).toEqual({ received: 2, stored: 0, duplicates: 2 });
    // One structured event alone is a batch of one.
    const single = metricEvent('service.active', {
      service: 'rq-credits',
      organisation: 'RQ',
      day: '2027-03-11',
    });
    const alone = JSON.stringify(single);
    await post(alone, {
      'content-type': 'application/cloudevents+json',
      'x-jws-signature': await platform.signDetached(alone, { typ: 'metric-events+json' }),
    }).expect(200, { received: 1, stored: 1, duplicates: 0 });
    expect(await stored()).toBe(3);
  });

  describe('refuses bad input with a problem, storing nothing', () => {
    let before: number;
    beforeEach(async () => {
      before = await stored();
    });
    afterEach(async () => {
      expect(await stored()).toBe(before);
    });

    const expectProblem = (
      response: { status: number; headers: Record<string, string>; body: { type: string } },
      status: number,
      code: string,
    ) => {
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.type).toBe(`urn:une-fois:problem:${code}`);
    };

    it('unsigned', async () => {
      const batch = await signedBatch([active('s', 'O', '2027-03-10')], platform);
      expectProblem(
        await post(batch.body, { 'content-type': batch.headers['content-type'] }),
        401,
        'metric_events_unsigned',
      );
    });

    it('signed by a key the platform does not publish', async () => {
      const batch = await signedBatch([active('s', 'O', '2027-03-10')], stranger);
      expectProblem(await post(batch.body, batch.headers), 401, 'metric_events_bad_signature');
    });

    it('a valid signature over a changed body', async () => {
      const batch = await signedBatch([active('s', 'O', '2027-03-10')], platform);
      const changed = batch.body.replace('"day":"2027-03-10"', '"day":"2027-03-11"');
      expect(changed).not.toBe(batch.body);
      expectProblem(await post(changed, batch.headers), 401, 'metric_events_bad_signature');
    });

    it('a signature that is not a detached JWS, or of something else than metric events', async () => {
      const batch = await signedBatch([active('s', 'O', '2027-03-10')], platform);
      expectProblem(
        await post(batch.body, { ...batch.headers, 'x-jws-signature': 'nonsense' }),
        401,
        'metric_events_bad_signature',
      );
      const webhook = await platform.signDetached(batch.body, { typ: 'webhook+jwt' });
      expectProblem(
        await post(batch.body, { ...batch.headers, 'x-jws-signature': webhook }),
        401,
        'metric_events_bad_signature',
      );
    });

    it('malformed JSON', async () => {
      const body = '[{"specversion": "1.0",';
      const response = await post(body, {
        'content-type': 'application/cloudevents-batch+json',
        'x-jws-signature': await platform.signDetached(body, { typ: 'metric-events+json' }),
      });
      expectProblem(response, 400, 'malformed_json');
    });

    it('a batch over the limit of 500 events', async () => {
      const events = Array.from({ length: 501 }, () => active('s', 'O', '2027-03-10'));
      const batch = await signedBatch(events, platform);
      expectProblem(await post(batch.body, batch.headers), 413, 'metric_events_too_many');
    });

    it('a body over the size limit', async () => {
      const big = JSON.stringify([{ padding: 'x'.repeat(400 * 1024) }]);
      expectProblem(
        await post(big, { 'content-type': 'application/cloudevents-batch+json' }),
        413,
        'payload_too_large',
      );
    });

    it('an unknown type, even beside valid events', async () => {
      const batch = await signedBatch(
        [active('s', 'O', '2027-03-10'), metricEvent('citizen.profiled', { service: 's' })],
        platform,
      );
      expectProblem(await post(batch.body, batch.headers), 400, 'unknown_metric_event_type');
    });

    it('an event out of its schema: a field too many (a citizen id), a count that is not one', async () => {
      const leak = metricEvent('service.active', {
        service: 's',
        organisation: 'O',
        day: '2027-03-10',
        citizen: 'c-1',
      });
      const batch = await signedBatch([leak], platform);
      const response = await post(batch.body, batch.headers);
      expectProblem(response, 400, 'invalid_metric_event');
      expect(response.body).toMatchObject({ detail: expect.stringContaining('data.citizen') });
      const count = metricEvent('collection', {
        reportId: 'r',
        service: 's',
        organisation: 'O',
        reAsked: -1,
        attributes: 1,
        day: '2027-03-10',
      });
      const second = await signedBatch([count], platform);
      expectProblem(await post(second.body, second.headers), 400, 'invalid_metric_event');
    });

    it('the platform’s keys out of reach: 503, the batch to be sent again', async () => {
      jwks.up = false;
      try {
        // A kid the barometer has not seen forces a fetch of the keys.
        const rotated = new PlatformSigner([newSigningKey('platform-2')]);
        const batch = await signedBatch([active('s', 'O', '2027-03-10')], rotated);
        expectProblem(await post(batch.body, batch.headers), 503, 'service_unavailable');
      } finally {
        jwks.up = true;
      }
    });
  });
});
