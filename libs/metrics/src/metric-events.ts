import { CloudEvent, ValidationError } from 'cloudevents';
import { compactVerify, type CompactVerifyGetKey, errors as joseErrors, type KeyInput } from 'jose';
import type { PlatformSigner } from '#libs/crypto';

/**
 * The wire format of metric events between the platform and a barometer:
 * CloudEvents 1.0 in structured JSON mode, sent as a batch (a JSON array,
 * `application/cloudevents-batch+json`), the body's exact bytes signed with
 * the platform key as a detached compact JWS (RFC 7515 appendix F) in
 * `x-jws-signature`, verifiable with the platform's JWKS. The event `id` is
 * the outbox row's, the same on every send, so a barometer counts it once.
 * The CloudEvents SDK checks each event against the specification, on both
 * ends; the schemas below hold what this platform's events carry.
 */

/** The protected header's `typ`: says what the signature covers. */
export const METRIC_EVENTS_TYP = 'metric-events+json';
export const METRIC_EVENTS_SIGNATURE_HEADER = 'x-jws-signature';
/** The CloudEvents `source` of every event the platform emits. */
export const METRIC_EVENT_SOURCE = '/une-fois';
/** Events one batch may carry, at most. */
export const MAX_METRIC_EVENTS_PER_BATCH = 500;

type FieldType = 'string' | 'nullable-string' | 'count';

const DEADLINE: Record<string, FieldType> = {
  deadline: 'string',
  kind: 'string',
  organisation: 'string',
  service: 'nullable-string',
  dueAt: 'string',
};
const REMINDER: Record<string, FieldType> = { reminder: 'string', ...DEADLINE, at: 'string' };
const CONSENT: Record<string, FieldType> = {
  organisation: 'string',
  service: 'string',
  purpose: 'string',
  mode: 'string',
};

/**
 * Every metric event type and the fields of its `data`, exactly: what
 * docs/indicators.md lists. None of them names a citizen or a value.
 */
export const METRIC_EVENT_SCHEMAS: Record<string, Record<string, FieldType>> = {
  'service.active': { service: 'string', organisation: 'string', day: 'string' },
  collection: {
    reportId: 'string',
    service: 'string',
    organisation: 'string',
    reAsked: 'count',
    attributes: 'count',
    day: 'string',
  },
  'service.releases': { service: 'string', organisation: 'string', day: 'string', released: 'count' },
  'consent.granted': CONSENT,
  'consent.revoked': CONSENT,
  'deadline.registered': DEADLINE,
  'deadline.moved': DEADLINE,
  'deadline.completed': DEADLINE,
  'deadline.cancelled': DEADLINE,
  'reminder.sent': REMINDER,
  'reminder.delivered': REMINDER,
  'reminder.failed': REMINDER,
  'reminder.suppressed': REMINDER,
};

export interface MetricCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, string | number | null>;
}

/** An outbox row of topic `metric` as the CloudEvent that carries it (made, and so checked, by the SDK). */
export function metricCloudEvent(row: {
  id: string;
  type: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}): MetricCloudEvent {
  return new CloudEvent({
    specversion: '1.0',
    id: row.id,
    source: METRIC_EVENT_SOURCE,
    type: row.type,
    time: row.occurredAt.toISOString(),
    datacontenttype: 'application/json',
    data: row.data,
  }).toJSON() as unknown as MetricCloudEvent;
}

/** A batch's body and its detached signature, as a relay sends them. */
export async function signMetricEvents(
  events: MetricCloudEvent[],
  signer: PlatformSigner,
): Promise<{ body: string; signature: string }> {
  const body = JSON.stringify(events);
  return { body, signature: await signer.signDetached(body, { typ: METRIC_EVENTS_TYP }) };
}

export type MetricEventsRejection =
  'unsigned' | 'signature' | 'malformed' | 'too_many' | 'unknown_type' | 'schema';

/** Why a batch is refused; nothing of it is to be stored. The message says which event and field. */
export class MetricEventsRejected extends Error {
  constructor(
    readonly reason: MetricEventsRejection,
    message: string,
  ) {
    super(message);
    this.name = 'MetricEventsRejected';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENVELOPE = ['specversion', 'id', 'source', 'type', 'time', 'datacontenttype', 'data'];
const MAX_STRING = 200;

/**
 * The events of a batch received with its signature, once the signature
 * verifies with `keys` (the platform's JWKS) over the exact body bytes and
 * every event is one of METRIC_EVENT_SCHEMAS, with exactly its fields; a
 * single structured event is a batch of one. Throws MetricEventsRejected.
 */
export async function verifyMetricEvents(
  body: Uint8Array,
  signature: string | undefined,
  keys: KeyInput | CompactVerifyGetKey,
): Promise<MetricCloudEvent[]> {
  if (!signature) throw new MetricEventsRejected('unsigned', `No ${METRIC_EVENTS_SIGNATURE_HEADER} header.`);
  const [header, payload, sig, ...rest] = signature.split('.');
  if (payload !== '' || sig === undefined || rest.length > 0)
    throw new MetricEventsRejected('signature', 'The signature is not a detached compact JWS.');
  let typ: unknown;
  try {
    const verified = await compactVerify(`${header}.${Buffer.from(body).toString('base64url')}.${sig}`, keys);
    typ = verified.protectedHeader.typ;
  } catch (error) {
    // The keys out of reach (the JWKS endpoint down or answering nonsense) refuses nothing: it is thrown as is.
    if (!isSignatureFailure(error)) throw error;
    throw new MetricEventsRejected('signature', 'The signature does not verify with the platform’s keys.');
  }
  if (typ !== METRIC_EVENTS_TYP)
    throw new MetricEventsRejected(
      'signature',
      `The signature is not of metric events (typ ${String(typ)}).`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new MetricEventsRejected('malformed', 'The body is not JSON.');
  }
  const events = Array.isArray(parsed) ? parsed : [parsed];
  if (events.length === 0) throw new MetricEventsRejected('schema', 'The batch holds no event.');
  if (events.length > MAX_METRIC_EVENTS_PER_BATCH)
    throw new MetricEventsRejected(
      'too_many',
      `The batch holds ${events.length} events; at most ${MAX_METRIC_EVENTS_PER_BATCH} are taken at once.`,
    );
  return events.map((event, index) => checkEvent(event, index));
}

/** What says the signature is wrong, as opposed to the keys being out of reach. */
function isSignatureFailure(error: unknown): boolean {
  return (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWSInvalid ||
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSENotSupported ||
    error instanceof joseErrors.JOSEAlgNotAllowed ||
    error instanceof joseErrors.JWKInvalid
  );
}

/** The first thing the SDK found wrong, as "time must match format …". */
function sdkReason(error: ValidationError): string {
  const [first] = error.errors ?? [];
  if (first && typeof first === 'object')
    return `${first.instancePath.replace(/^\//, '')} ${first.message ?? 'is not valid'}`.trim();
  return error.message.split('\n')[0];
}

function checkEvent(event: unknown, index: number): MetricCloudEvent {
  const refuse = (reason: MetricEventsRejection, what: string) =>
    new MetricEventsRejected(reason, `Event ${index}: ${what}.`);
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    throw refuse('schema', 'not a JSON object');
  const e = event as Record<string, unknown>;
  const unknown = Object.keys(e).filter((key) => !ENVELOPE.includes(key));
  if (unknown.length > 0) throw refuse('schema', `unknown attribute ${unknown.join(', ')}`);
  try {
    new CloudEvent(e);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw refuse('schema', `not a CloudEvent 1.0: ${sdkReason(error)}`);
  }
  if (e.specversion !== '1.0') throw refuse('schema', 'specversion must be "1.0"');
  if (typeof e.id !== 'string' || !UUID.test(e.id)) throw refuse('schema', 'id must be a lowercase UUID');
  if (e.source !== METRIC_EVENT_SOURCE) throw refuse('schema', `source must be "${METRIC_EVENT_SOURCE}"`);
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time)))
    throw refuse('schema', 'time must be an RFC 3339 timestamp');
  if (e.datacontenttype !== 'application/json')
    throw refuse('schema', 'datacontenttype must be "application/json"');
  const schema = typeof e.type === 'string' ? METRIC_EVENT_SCHEMAS[e.type] : undefined;
  if (!schema) throw refuse('unknown_type', `unknown type ${JSON.stringify(e.type)}`);
  if (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))
    throw refuse('schema', 'data must be a JSON object');
  const data = e.data as Record<string, unknown>;
  for (const key of Object.keys(data))
    if (!(key in schema)) throw refuse('schema', `data.${key} is not a field of ${e.type as string}`);
  for (const [key, type] of Object.entries(schema)) {
    const value = data[key];
    const ok =
      type === 'count'
        ? Number.isInteger(value) && (value as number) >= 0
        : (typeof value === 'string' && value.length > 0 && value.length <= MAX_STRING) ||
          (type === 'nullable-string' && value === null);
    if (!ok) throw refuse('schema', `data.${key} must be ${type === 'count' ? 'a count' : 'a short string'}`);
  }
  return e as unknown as MetricCloudEvent;
}
