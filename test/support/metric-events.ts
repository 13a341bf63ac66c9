import { createLocalJWKSet } from 'jose';
import type { DataSource } from 'typeorm';
import { PlatformSigner } from '#libs/crypto';
import { metricCloudEvent, signMetricEvents, verifyMetricEvents } from '#libs/metrics';

/**
 * Every metric event the platform wrote in this database, sent as the relay
 * sends them (CloudEvents, signed by the app's platform key) and checked as a
 * barometer checks them: what the emitters write is what the schema takes.
 * The types found, for the caller to check it saw the ones it meant to.
 */
export async function metricEventsPassSchema(
  dataSource: DataSource,
  signer: PlatformSigner,
): Promise<string[]> {
  const rows: { id: string; type: string; occurred_at: Date; data: Record<string, unknown> }[] =
    await dataSource.query(`SELECT id, type, occurred_at, data FROM outbox_event WHERE topic = 'metric'`);
  const events = rows.map((row) => metricCloudEvent({ ...row, occurredAt: row.occurred_at }));
  const { body, signature } = await signMetricEvents(events, signer);
  const verified = await verifyMetricEvents(
    new TextEncoder().encode(body),
    signature,
    createLocalJWKSet(signer.jwks()),
  );
  return [...new Set(verified.map((event) => event.type))].sort();
}
