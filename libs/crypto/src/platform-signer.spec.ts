import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader } from 'jose';
import { PlatformSigner } from './platform-signer.js';

type KeyKind = 'ed25519' | 'p256';

/** A fresh private JWK with a kid, as SIGNING_KEYS holds them. */
function privateJwk(kind: KeyKind, kid: string): JsonWebKey {
  const { privateKey } =
    kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid } as JsonWebKey;
}

function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Verifies against the published JWKS only, as a receiving service would. */
async function verifyWithPublishedKeys(signer: PlatformSigner, jws: string) {
  return compactVerify(jws, createLocalJWKSet(signer.jwks()));
}

/** RFC 7515 appendix F: put the detached payload back between the two dots. */
function reattach(detached: string, payload: Uint8Array | string): string {
  const [header, empty, signature] = detached.split('.');
  expect(empty).toBe('');
  return `${header}.${base64url(payload)}.${signature}`;
}

describe(PlatformSigner.name, () => {
  describe.each([
    ['Ed25519', 'ed25519' as const, 'EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
    ['EC P-256', 'p256' as const, 'ES256', { kty: 'EC', crv: 'P-256' }],
  ])('with an %s key', (_name, kind, alg, keyType) => {
    const signer = new PlatformSigner([privateJwk(kind, `platform-${kind}`)]);

    it('publishes the public key with its kid, alg and use, and no private part', () => {
      const { keys } = signer.jwks();
      expect(keys).toEqual([
        expect.objectContaining({ ...keyType, kid: `platform-${kind}`, alg, use: 'sig' }),
      ]);
      expect(keys[0]).not.toHaveProperty('d');
    });

    it('signs a string that verifies against the published JWKS', async () => {
      const jws = await signer.sign('{"hello":"Québec"}');
      const { payload, protectedHeader } = await verifyWithPublishedKeys(signer, jws);
      expect(new TextDecoder().decode(payload)).toBe('{"hello":"Québec"}');
      expect(protectedHeader).toEqual({ alg, kid: `platform-${kind}` });
    });

    it('signs bytes as they are', async () => {
      const bytes = Uint8Array.of(0, 255, 1, 254);
      const { payload } = await verifyWithPublishedKeys(signer, await signer.sign(bytes));
      expect(Buffer.from(payload).equals(Buffer.from(bytes))).toBe(true);
    });

    it('keeps extra header parameters but never lets them override alg or kid', async () => {
      const jws = await signer.sign('x', { typ: 'receipt+jwt', alg: 'none', kid: 'forged' });
      expect(decodeProtectedHeader(jws)).toEqual({ typ: 'receipt+jwt', alg, kid: `platform-${kind}` });
      await expect(verifyWithPublishedKeys(signer, jws)).resolves.toBeDefined();
    });

    it('signs JSON with its typ', async () => {
      const jws = await signer.signJson({ receipt: 42 }, 'une-fois-receipt+jwt');
      const { payload, protectedHeader } = await verifyWithPublishedKeys(signer, jws);
      expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ receipt: 42 });
      expect(protectedHeader.typ).toBe('une-fois-receipt+jwt');
    });

    it('fails verification when the payload is changed', async () => {
      const [header, , signature] = (await signer.sign('amount=10')).split('.');
      const tampered = `${header}.${base64url('amount=99')}.${signature}`;
      await expect(verifyWithPublishedKeys(signer, tampered)).rejects.toThrow(
        'signature verification failed',
      );
      await expect(verifyWithPublishedKeys(signer, tampered)).rejects.toThrow();
    });

    it('verifies its own signatures and refuses those of another platform key', async () => {
      const jws = await signer.sign('x');
      await expect(verifyWithPublishedKeys(signer, jws)).resolves.toMatchObject({
        protectedHeader: { kid: `platform-${kind}` },
      });
      const impostor = new PlatformSigner([privateJwk(kind, `platform-${kind}`)]);
      await expect(verifyWithPublishedKeys(signer, await impostor.sign('x'))).rejects.toThrow();
    });

    describe('signDetached', () => {
      const body = new TextEncoder().encode('{"event":"consent.granted","id":"c-1"}');

      it('leaves the payload out and verifies once the same bytes are put back', async () => {
        const detached = await signer.signDetached(body);
        expect(detached).toMatch(/^[\w-]+\.\.[\w-]+$/);
        const { payload } = await verifyWithPublishedKeys(signer, reattach(detached, body));
        expect(Buffer.from(payload).equals(Buffer.from(body))).toBe(true);
      });

      it('accepts a string and signs its UTF-8 bytes', async () => {
        const detached = await signer.signDetached('déjà');
        await expect(
          verifyWithPublishedKeys(signer, reattach(detached, Buffer.from('déjà', 'utf8'))),
        ).resolves.toBeDefined();
      });

      it('does not verify for different bytes', async () => {
        const detached = await signer.signDetached(body);
        const other = Buffer.from(body);
        other[other.length - 2] ^= 0x01;
        await expect(verifyWithPublishedKeys(signer, reattach(detached, other))).rejects.toThrow(
          'signature verification failed',
        );
      });

      it('does not verify with the payload still left out', async () => {
        await expect(verifyWithPublishedKeys(signer, await signer.signDetached(body))).rejects.toThrow();
      });
    });
  });

  describe('with several keys', () => {
    const current = privateJwk('p256', 'platform-2027');
    const retired = privateJwk('ed25519', 'platform-2026');

    it('signs with the first key and publishes all, without private parts', async () => {
      const signer = new PlatformSigner([current, retired]);
      const { keys } = signer.jwks();
      expect(keys.map((k) => k.kid)).toEqual(['platform-2027', 'platform-2026']);
      for (const key of keys) expect(key).not.toHaveProperty('d');
      expect(JSON.stringify(signer.jwks())).not.toContain(String(current.d));
      expect(decodeProtectedHeader(await signer.sign('x'))).toMatchObject({
        kid: 'platform-2027',
        alg: 'ES256',
      });
    });

    it('still verifies what a retired key signed', async () => {
      const before = await new PlatformSigner([retired]).sign('signed in 2026');
      const after = new PlatformSigner([current, retired]);
      const { payload } = await verifyWithPublishedKeys(after, before);
      expect(new TextDecoder().decode(payload)).toBe('signed in 2026');
    });

    it('no longer verifies what a removed key signed', async () => {
      const before = await new PlatformSigner([retired]).sign('signed in 2026');
      await expect(verifyWithPublishedKeys(new PlatformSigner([current]), before)).rejects.toThrow();
    });
  });
});
