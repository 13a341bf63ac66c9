import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { TestService } from './support/services.js';

const DEMO_KEYS = JSON.parse(readFileSync('config/demo/service-keys.json', 'utf8')) as Record<
  string,
  JWK & { kid: string }
>;
const publicPart = ({ d: _d, ...jwk }: JWK) => jwk;

/**
 * A service registered with a `jwks_uri` rather than its keys: the broker
 * fetches them through the platform's checked outbound calls (the address
 * checked at each connection; loopback allowed outside production, as for
 * webhooks), and fetches again when the service signs with a new key.
 */
describe('A service whose keys are at its jwks_uri', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let broker: RunningBroker;
  let server: Server;
  let served: { keys: JWK[] } = { keys: [publicPart(DEMO_KEYS['saaq-permis'])] };
  let fetches = 0;

  beforeAll(async () => {
    db = await createTestDatabase('jwksuri');
    idp = await new TestIdentityProvider().start();
    server = createServer((_request, response) => {
      fetches++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const registry = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.yaml');
    writeFileSync(
      registry,
      readFileSync('config/registry.yaml', 'utf8').replace(
        /(- id: saaq-permis\n(?: {4}\w.*\n)*?) {4}jwks: .*\n/,
        `$1    jwks_uri: http://localhost:${port}/jwks.json\n`,
      ),
    );
    expect(readFileSync(registry, 'utf8')).toContain(`jwks_uri: http://localhost:${port}/jwks.json`);
    broker = await startBroker(db, idp, { REGISTRY_FILE: registry, JWKS_REFETCH_COOLDOWN_SECONDS: '0' });
  });
  afterAll(async () => {
    await broker?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await idp?.stop();
    await db?.drop();
  });

  it('gets a token signed with a key fetched from its jwks_uri', async () => {
    await broker.service('saaq-permis').auth();
    expect(fetches).toBe(1);
  });

  it('fetches the key set again when the service signs with a new key', async () => {
    const next = {
      ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK),
      kid: 'saaq-permis-2027',
      alg: 'ES256',
    };
    served = { keys: [publicPart(next)] };
    await new TestService('saaq-permis', broker, next).auth();
    expect(fetches).toBe(2);
  });

  it('refuses an assertion signed by a key its jwks_uri does not hold', async () => {
    const stranger = {
      ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK),
      kid: 'not-published',
      alg: 'ES256',
    };
    const service = new TestService('saaq-permis', broker, stranger);
    const response = await service.tokenRequest(await service.assertion());
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
  });
});
