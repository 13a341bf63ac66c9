import { generateKeyPairSync, type JsonWebKey, randomUUID } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { PlatformSigner } from '#libs/crypto';
import {
  MAX_METRIC_EVENTS_PER_BATCH,
  type MetricCloudEvent,
  metricCloudEvent,
  MetricEventsRejected,
  signMetricEvents,
  verifyMetricEvents,
} from './metric-events.js';

const signerOf = (kid: string) =>
  new PlatformSigner([
    { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid } as JsonWebKey,
  ]);
const platform = signerOf('platform');
const jwks = createLocalJWKSet(platform.jwks());
const bytes = (text: string) => new TextEncoder().encode(text);

const reminderSent = (): MetricCloudEvent =>
  metricCloudEvent({
    id: randomUUID(),
    type: 'reminder.sent',
    occurredAt: new Date('2026-12-01T14:00:00Z'),
    data: {
      reminder: randomUUID(),
      deadline: randomUUID(),
      kind: 'licence-renewal',
      organisation: 'SAAQ',
      service: 'saaq-permis',
      dueAt: '2026-12-08T14:00:00+00:00',
      at: '2026-12-01T14:00:00+00:00',
    },
  });

async function rejection(body: string, signature: string | undefined) {
  const error = await verifyMetricEvents(bytes(body), signature, jwks).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MetricEventsRejected);
  return error as MetricEventsRejected;
}

describe(verifyMetricEvents.name, () => {
  it('takes a batch signed by the platform, and a single structured event as a batch of one', async () => {
    const events = [reminderSent(), reminderSent()];
    const { body, signature } = await signMetricEvents(events, platform);
    await expect(verifyMetricEvents(bytes(body), signature, jwks)).resolves.toEqual(events);
    const one = JSON.stringify(events[0]);
    const signed = await platform.signDetached(one, { typ: 'metric-events+json' });
    await expect(verifyMetricEvents(bytes(one), signed, jwks)).resolves.toEqual([events[0]]);
  });

  it('refuses an unsigned batch, one signed by another key, and a signed body changed after signing', async () => {
    const { body, signature } = await signMetricEvents([reminderSent()], platform);
    expect((await rejection(body, undefined)).reason).toBe('unsigned');
    const forged = await signMetricEvents([reminderSent()], signerOf('platform'));
    expect((await rejection(forged.body, forged.signature)).reason).toBe('signature');
    const changed = body.replace('"SAAQ"', '"RAMQ"');
    expect(changed).not.toBe(body);
    expect((await rejection(changed, signature)).reason).toBe('signature');
    // A compact (not detached) JWS, and a detached one of another kind of document.
    expect((await rejection(body, await platform.sign(body, { typ: 'metric-events+json' }))).reason).toBe(
      'signature',
    );
    const other = await platform.signDetached(body, { typ: 'webhook+jwt' });
    expect((await rejection(body, other)).message).toMatch(/not of metric events/);
  });

  it('refuses malformed JSON, an empty or oversize batch, an unknown type, and fields out of the schema', async () => {
    const signedAs = async (body: string) =>
      rejection(body, await platform.signDetached(body, { typ: 'metric-events+json' }));
    expect((await signedAs('[{"specversion": "1.0",')).reason).toBe('malformed');
    expect((await signedAs('[]')).reason).toBe('schema');
    const many = JSON.stringify(Array.from({ length: MAX_METRIC_EVENTS_PER_BATCH + 1 }, reminderSent));
    expect((await signedAs(many)).reason).toBe('too_many');
    expect((await signedAs(JSON.stringify([{ ...reminderSent(), type: 'citizen.moved' }]))).reason).toBe(
      'unknown_type',
    );
    const event = reminderSent();
    const cases: [unknown, RegExp][] = [
      [{ ...event, data: { ...event.data, citizen: 'a3f0' } }, /data\.citizen is not a field/],
      [{ ...event, data: { ...event.data, organisation: undefined } }, /data\.organisation must be/],
      [{ ...event, data: { ...event.data, service: 42 } }, /data\.service must be/],
      [{ ...event, id: 'not-a-uuid' }, /id must be/],
      [{ ...event, specversion: '0.3' }, /specversion/],
      [{ ...event, source: '/elsewhere' }, /source/],
      [{ ...event, time: 'yesterday' }, /time/],
      // A date JavaScript reads, but not the RFC 3339 time CloudEvents asks for: the SDK refuses it.
      [{ ...event, time: 'Dec 6 2026' }, /not a CloudEvent 1\.0: time must match format "date-time"/],
      [{ ...event, extra: true }, /unknown attribute extra/],
      ['a string', /not a JSON object/],
    ];
    for (const [bad, message] of cases) {
      const refused = await signedAs(JSON.stringify([reminderSent(), bad]));
      expect(refused.reason).toBe('schema');
      expect(refused.message).toMatch(/^Event 1: /);
      expect(refused.message).toMatch(message);
    }
  });
});
