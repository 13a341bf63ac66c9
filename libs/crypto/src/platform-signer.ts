import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { type JWK, type JWSHeaderParameters } from 'jose';

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

  /**
   * Compact JWS (RFC 7515) signed with node:crypto directly: synchronous and
   * without WebCrypto's thread-pool hop, since it runs on every data request.
   */
  async sign(payload: Uint8Array | string, header: Partial<JWSHeaderParameters> = {}): Promise<string> {
    const key = this.keys[0];
    const protectedHeader = Buffer.from(JSON.stringify({ ...header, alg: key.alg, kid: key.kid })).toString(
      'base64url',
    );
    const input = `${protectedHeader}.${Buffer.from(payload).toString('base64url')}`;
    const signature =
      key.alg === 'ES256'
        ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(input), key.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  async signJson(payload: object, typ: string): Promise<string> {
    return this.sign(JSON.stringify(payload), { typ });
  }

  /** RFC 7515 appendix F: the payload part left empty, the bytes travel beside the signature. */
  async signDetached(bytes: Uint8Array | string, header: Partial<JWSHeaderParameters> = {}): Promise<string> {
    const [protectedHeader, , signature] = (await this.sign(bytes, header)).split('.');
    return `${protectedHeader}..${signature}`;
  }
}
