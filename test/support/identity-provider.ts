import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWK, SignJWT } from 'jose';

export interface TokenOptions {
  subject?: string;
  issuer?: string;
  audience?: string;
  expiresIn?: string | number;
  key?: KeyObject;
  kid?: string;
}

/**
 * A real OpenID Connect issuer on loopback: it publishes a JWKS over HTTP and
 * signs tokens, as the government identity provider would. A second key it
 * never publishes stands in for a forger.
 */
export class TestIdentityProvider {
  readonly audience = 'une-fois-test';
  private signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private kid = 'idp-1';
  private published: JWK[] = [];
  readonly forgerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  private server: Server | null = null;
  issuer = '';
  jwksUri = '';
  jwksFetches = 0;

  async start(): Promise<this> {
    this.publish();
    this.server = createServer((request, response) => {
      if (request.url === '/jwks.json') {
        this.jwksFetches += 1;
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ keys: this.published }));
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.issuer = `http://127.0.0.1:${port}`;
    this.jwksUri = `${this.issuer}/jwks.json`;
    return this;
  }

  /** Key rotation at the issuer: a new key signs from now on; the old one stays published. */
  rotate(): void {
    this.signing = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.kid = `idp-${this.published.length + 1}`;
    this.publish();
  }

  private publish(): void {
    const jwk = this.signing.publicKey.export({ format: 'jwk' }) as JWK;
    this.published.push({ ...jwk, kid: this.kid, alg: 'ES256', use: 'sig' });
  }

  async token(options: TokenOptions = {}): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? this.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(options.audience ?? this.audience)
      .setSubject(options.subject ?? 'citizen')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '10m')
      .sign(options.key ?? this.signing.privateKey);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
