import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { PlatformSigner } from '#libs/crypto';
import {
  DATA_RESPONSE_TYP,
  type DataResponse,
  DEFAULT_MAX_AGE_SECONDS,
  verifyDataResponse,
} from './data-response.js';

const { privateKey } = generateKeyPairSync('ed25519');
const signer = new PlatformSigner([
  { ...privateKey.export({ format: 'jwk' }), kid: 'platform' } as JsonWebKey,
]);
const jwks = createLocalJWKSet(signer.jwks());

/** A response as the broker sends it: the body's bytes and their detached signature. */
async function signed(issuedAt: Date) {
  const response: DataResponse = {
    requestId: '0b6c6a53-5f0e-4c43-9a4f-0f6d2b1e7c11',
    citizen: { ppid: 'ppid-of-ana' },
    service: 'saaq-permis',
    purpose: 'licence-renewal',
    issuedAt: issuedAt.toISOString(),
    released: [
      {
        attribute: 'contact.email',
        value: 'ana@exemple.ca',
        source: 'citizen',
        updatedAt: issuedAt.toISOString(),
      },
    ],
    withheld: [],
  };
  const body = JSON.stringify(response);
  return { body, signature: await signer.signDetached(body, { typ: DATA_RESPONSE_TYP }) };
}

describe(verifyDataResponse.name, () => {
  const now = new Date('2026-11-25T12:00:00Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it('accepts a fresh response about the expected citizen', async () => {
    const { body, signature } = await signed(ago(10));
    await expect(
      verifyDataResponse(body, signature, jwks, { ppid: 'ppid-of-ana', now }),
    ).resolves.toMatchObject({
      released: [{ value: 'ana@exemple.ca' }],
    });
  });

  it('refuses a stale response even when the caller gives no maximum age', async () => {
    const { body, signature } = await signed(ago(DEFAULT_MAX_AGE_SECONDS + 1));
    await expect(
      verifyDataResponse(body, signature, jwks, { ppid: 'ppid-of-ana', now }),
    ).rejects.toMatchObject({
      reason: 'age',
    });
    // Nor one dated in the future beyond the same margin.
    const future = await signed(ago(-(DEFAULT_MAX_AGE_SECONDS + 1)));
    await expect(
      verifyDataResponse(future.body, future.signature, jwks, { ppid: 'ppid-of-ana', now }),
    ).rejects.toMatchObject({ reason: 'age' });
  });

  it('takes the maximum age it is given, tighter or looser', async () => {
    const { body, signature } = await signed(ago(120));
    await expect(
      verifyDataResponse(body, signature, jwks, { ppid: 'ppid-of-ana', now, maxAgeSeconds: 60 }),
    ).rejects.toMatchObject({ reason: 'age' });
    const old = await signed(ago(3600));
    await expect(
      verifyDataResponse(old.body, old.signature, jwks, { ppid: 'ppid-of-ana', now, maxAgeSeconds: 7200 }),
    ).resolves.toBeDefined();
  });

  it('refuses a response about another citizen before looking at its age', async () => {
    const { body, signature } = await signed(ago(10));
    await expect(
      verifyDataResponse(body, signature, jwks, { ppid: 'ppid-of-ben', now }),
    ).rejects.toMatchObject({
      reason: 'citizen',
    });
  });
});
