import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, type JWK, type JWSHeaderParameters, createLocalJWKSet } from 'jose';

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  publicJwk: JWK;
}

/**
 * Signs the platform's outputs (receipts, responses, webhooks) as compact
 * JWS. The first configured key signs; all are published, so a retired key
 * still verifies what it signed.
 */
export class PlatformSigner {
  private readonly keys: SigningKey[];

  constructor(jwks: JsonWebKey[]) {
    this.keys = jwks.map((jwk) => {
      const kid = (jwk as { kid: string }).kid;
      const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
      const { d: _d, ...publicPart } = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
      const alg = jwk.kty === 'EC' ? 'ES256' : 'EdDSA';
      return { kid, alg, privateKey, publicJwk: { ...publicPart, kid, alg, use: 'sig' } };
    });
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  async sign(payload: Uint8Array | string, header: Partial<JWSHeaderParameters> = {}): Promise<string> {
    const key = this.keys[0];
    const bytes = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    return new CompactSign(bytes).setProtectedHeader({ ...header, alg: key.alg, kid: key.kid }).sign(key.privateKey);
  }

  async signJson(payload: object, typ: string): Promise<string> {
    return this.sign(JSON.stringify(payload), { typ });
  }

  /** RFC 7515 appendix F: the payload part left empty, the bytes travel beside the signature. */
  async signDetached(bytes: Uint8Array | string): Promise<string> {
    const [header, , signature] = (await this.sign(bytes)).split('.');
    return `${header}..${signature}`;
  }

  async verify(jws: string): Promise<{ payload: Uint8Array; protectedHeader: JWSHeaderParameters }> {
    return compactVerify(jws, createLocalJWKSet(this.jwks()));
  }
}
