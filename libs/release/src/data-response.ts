import { compactVerify, type CompactVerifyGetKey, type KeyInput } from 'jose';
import type { WithheldReason } from '#libs/access-log';
import type { JsonValue } from '#libs/catalogue';

/** The `typ` of a data-request response's detached JWS: no other signed output of the platform passes for one. */
export const DATA_RESPONSE_TYP = 'data-response+json';

/**
 * The body of `POST /v1/data-requests`, signed as it is sent. Besides the
 * values, it names whom they are about (the asking organisation's pairwise
 * id), the service that asked, the purpose and when it was issued.
 */
export interface DataResponse {
  requestId: string;
  citizen: { ppid: string };
  service: string;
  purpose: string;
  issuedAt: string;
  released: { attribute: string; value: JsonValue; source: string; updatedAt: string }[];
  withheld: { attribute: string; reason: WithheldReason }[];
  consentRequest?: { id: string; approvalUrl: string };
}

/** How old a response verifyDataResponse accepts when not told otherwise. */
export const DEFAULT_MAX_AGE_SECONDS = 300;

export interface ExpectedDataResponse {
  /** The pairwise id of the citizen the response must be about. */
  ppid: string;
  service?: string;
  purpose?: string;
  /**
   * Refuses a response issued longer ago than this (or in the future by more
   * than this); DEFAULT_MAX_AGE_SECONDS unless given, so a client that
   * forgets it still refuses a stale response replayed to it.
   */
  maxAgeSeconds?: number;
  now?: Date;
}

export class DataResponseRejected extends Error {
  constructor(
    readonly reason: 'signature' | 'typ' | 'citizen' | 'service' | 'purpose' | 'age',
    message: string,
  ) {
    super(message);
  }
}

/**
 * What a service (or whoever it shows a response to) checks: the detached
 * signature over the exact body bytes, with the platform's published keys
 * (`/.well-known/jwks.json`, e.g. through jose's createRemoteJWKSet), the
 * `typ`, that the signed body is about the expected citizen, service and
 * purpose, and that it is recent. Answers the verified body; throws DataResponseRejected.
 */
export async function verifyDataResponse(
  body: string | Uint8Array,
  signature: string,
  keys: KeyInput | CompactVerifyGetKey,
  expected: ExpectedDataResponse,
): Promise<DataResponse> {
  const [header, payload, sig, ...rest] = signature.split('.');
  if (payload !== '' || sig === undefined || rest.length > 0)
    throw new DataResponseRejected('signature', 'Not a detached compact JWS.');
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  let verified;
  try {
    verified = await compactVerify(`${header}.${Buffer.from(bytes).toString('base64url')}.${sig}`, keys);
  } catch (error) {
    throw new DataResponseRejected('signature', `The signature does not verify: ${(error as Error).message}`);
  }
  if (verified.protectedHeader.typ !== DATA_RESPONSE_TYP)
    throw new DataResponseRejected(
      'typ',
      `Not a data-request response (typ ${verified.protectedHeader.typ}).`,
    );
  const response = JSON.parse(new TextDecoder().decode(verified.payload)) as DataResponse;
  if (response.citizen?.ppid !== expected.ppid)
    throw new DataResponseRejected('citizen', 'The response is about another citizen.');
  if (expected.service !== undefined && response.service !== expected.service)
    throw new DataResponseRejected('service', `The response was issued to ${response.service}.`);
  if (expected.purpose !== undefined && response.purpose !== expected.purpose)
    throw new DataResponseRejected('purpose', `The response was issued for ${response.purpose}.`);
  const maxAge = expected.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const age = ((expected.now ?? new Date()).getTime() - Date.parse(response.issuedAt)) / 1000;
  // NaN (no or a malformed issuedAt) fails the test too.
  if (!(Math.abs(age) <= maxAge))
    throw new DataResponseRejected('age', `The response was issued at ${response.issuedAt}.`);
  return response;
}
