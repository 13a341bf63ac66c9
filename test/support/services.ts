import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importJWK, type JWK, SignJWT } from 'jose';
import type TestAgent from 'supertest/lib/agent.js';

const DEMO_KEYS = JSON.parse(readFileSync('config/demo/service-keys.json', 'utf8')) as Record<
  string,
  JWK & { kid: string }
>;

export interface AssertionOptions {
  audience?: string;
  issuer?: string;
  subject?: string;
  expiresIn?: number;
  jti?: string;
  key?: JWK & { kid: string };
  alg?: string;
}

/** A ministry service as a client: its registered key signs client assertions (RFC 7523). */
export class TestService {
  constructor(
    readonly id: string,
    private readonly broker: { http: TestAgent; tokenEndpoint: string },
    readonly privateJwk: JWK & { kid: string } = DEMO_KEYS[id],
  ) {}

  async assertion(options: AssertionOptions = {}): Promise<string> {
    const jwk = options.key ?? this.privateJwk;
    const alg = options.alg ?? jwk.alg ?? 'ES256';
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: options.jti ?? randomUUID() })
      .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.id)
      .setSubject(options.subject ?? this.id)
      .setAudience(options.audience ?? this.broker.tokenEndpoint)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 120))
      .sign(await importJWK(jwk, alg));
  }

  tokenRequest(assertion: string) {
    return this.broker.http.post('/oauth/token').type('form').send({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
  }

  /** A bearer header with a fresh access token. */
  async auth(): Promise<{ Authorization: string }> {
    const response = await this.tokenRequest(await this.assertion());
    if (response.status !== 200) throw new Error(`token refused for ${this.id}: ${response.text}`);
    return { Authorization: `Bearer ${response.body.access_token}` };
  }
}
