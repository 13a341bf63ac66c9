import { type KeyObject, generateKeyPairSync, randomUUID } from 'node:crypto';
import { Controller, Get, RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ModulesContainer } from '@nestjs/core';
import { base64url, decodeJwt, type JWK, SignJWT } from 'jose';
import type { Response } from 'supertest';
import { IS_PUBLIC } from '#libs/http';
import { AUTHORIZE } from '../apps/broker/src/auth/service-auth.guard.js';
import { BrokerAppModule } from '../apps/broker/src/broker-app.module.js';
import { startApp, testEnv } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { TestService } from './support/services.js';

const BROKER_URL = 'http://broker.test';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The broker's access-token key is ours, so the tests can mint access tokens the broker would have signed. */
const TOKEN_KID = 'test-access-tokens-1';
const tokenKey = generateKeyPairSync('ed25519').privateKey;
/** The platform's output key (responses, receipts, webhooks), which the vault and the scheduler hold too. */
const PLATFORM_KID = 'test-platform-1';
const platformKey = generateKeyPairSync('ed25519').privateKey;
const BROKER_ENV = {
  BROKER_URL,
  ACCESS_TOKEN_SIGNING_KEYS: JSON.stringify([{ ...tokenKey.export({ format: 'jwk' }), kid: TOKEN_KID }]),
  SIGNING_KEYS: JSON.stringify([{ ...platformKey.export({ format: 'jwk' }), kid: PLATFORM_KID }]),
};

/** Routes anyone may call without a token; anything else the broker serves must answer 401. */
const PUBLIC_ROUTES = [
  'GET /health',
  'GET /metrics',
  'POST /oauth/token',
  'GET /.well-known/jwks.json',
  'GET /openapi.json',
  'GET /docs',
];
/** The Swagger routes: /openapi.json, /docs and Swagger UI's own files under it (index.html, swagger-ui-init.js…). */
const isSwagger = (route: string) => /^GET \/(docs|openapi\.json)(\/|$)/.test(route);

let db: TestDatabase;
let idp: TestIdentityProvider;
let broker: RunningBroker;

beforeAll(async () => {
  db = await createTestDatabase('brokerauth');
  idp = await new TestIdentityProvider().start();
  broker = await startBroker(db, idp, BROKER_ENV, {}, recordRoutes);
});
afterAll(async () => {
  await broker.close();
  await idp.stop();
  await db.drop();
});

// ---------------------------------------------------------------- helpers

const nowSeconds = () => Math.floor(Date.now() / 1000);
const service = (id: string) => broker.service(id);
const freshEcKey = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const json64 = (value: object) => base64url.encode(JSON.stringify(value));

interface AssertionParts {
  /** Claims over the defaults; a claim set to undefined is left out. */
  claims?: Record<string, unknown>;
  /** What signs, and the kid it claims; the service's registered key by default. */
  key?: KeyObject | JWK;
  kid?: string;
}

/** A client assertion of `serviceId`, valid unless `parts` say otherwise. */
async function assertionOf(serviceId: string, parts: AssertionParts = {}): Promise<string> {
  const registered = service(serviceId).privateJwk as (JWK & { kid: string }) | undefined;
  const now = nowSeconds();
  const claims = {
    iss: serviceId,
    sub: serviceId,
    aud: broker.tokenEndpoint,
    jti: randomUUID(),
    iat: now,
    exp: now + 120,
    ...parts.claims,
  };
  const payload = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: parts.kid ?? registered?.kid, typ: 'JWT' })
    .sign(parts.key ?? registered!);
}

function tokenRequest(form: Record<string, string>) {
  return broker.http.post('/oauth/token').type('form').send(form);
}

function exchange(assertion: string) {
  return tokenRequest({
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
  });
}

async function rememberedJtis(): Promise<number> {
  const [row] = await broker.dataSource.query(`SELECT count(*)::int AS n FROM client_assertion_jti`);
  return row.n;
}

interface TokenParts {
  claims?: Record<string, unknown>;
  key?: KeyObject;
  kid?: string;
  typ?: string;
}

/** An access token as the broker signs them (its access-token key, at+jwt), valid unless `parts` say otherwise. */
async function brokerToken({
  claims = {},
  key = tokenKey,
  kid = TOKEN_KID,
  typ = 'at+jwt',
}: TokenParts = {}): Promise<string> {
  const now = nowSeconds();
  return new SignJWT({
    iss: BROKER_URL,
    aud: BROKER_URL,
    sub: 'saaq-permis',
    client_id: 'saaq-permis',
    org: 'SAAQ',
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', kid, typ })
    .sign(key);
}

/** A problem+json answer with one of `statuses`; on failure the diff shows what came back. */
function expectProblem(response: Response, statuses: number[], body: Record<string, unknown>): void {
  const received = {
    status: response.status,
    allowedStatus: statuses.includes(response.status),
    type: response.headers['content-type'],
    body: response.body,
  };
  expect(received).toMatchObject({
    allowedStatus: true,
    type: expect.stringMatching(/^application\/problem\+json/),
    body,
  });
}

// ---------------------------------------------------------------- 1. token endpoint

describe('POST /oauth/token refuses a bad client assertion', () => {
  /** A row builds the assertion to replay or refuse; it may spend `writes` jti rows getting there. */
  type Row = [label: string, writes: number, build: () => Promise<string>];

  async function usedOnce(): Promise<string> {
    const assertion = await assertionOf('saaq-permis');
    expect((await exchange(assertion)).status).toBe(200);
    return assertion;
  }

  const rows: Row[] = [
    [
      'a wrong aud',
      0,
      () => assertionOf('saaq-permis', { claims: { aud: 'https://autre-courtier.example/oauth/token' } }),
    ],
    [
      'an aud of the token endpoint of another host',
      0,
      () => assertionOf('saaq-permis', { claims: { aud: 'http://broker.test.evil/oauth/token' } }),
    ],
    [
      'an exp 2 minutes past (beyond the 60 s skew)',
      0,
      () => assertionOf('saaq-permis', { claims: { iat: nowSeconds() - 300, exp: nowSeconds() - 120 } }),
    ],
    ['an exp 10 minutes ahead', 0, () => assertionOf('saaq-permis', { claims: { exp: nowSeconds() + 600 } })],
    ['no exp', 0, () => assertionOf('saaq-permis', { claims: { exp: undefined } })],
    [
      'an iat an hour in the future',
      0,
      () => assertionOf('saaq-permis', { claims: { iat: nowSeconds() + 3600 } }),
    ],
    ['a replayed jti', 1, usedOnce],
    [
      'a jti replayed after a broker restart',
      1,
      async () => {
        const assertion = await usedOnce();
        // A new process on the same database; the rest of the file talks to it.
        await broker.close();
        broker = await startBroker(db, idp, BROKER_ENV, {}, recordRoutes);
        return assertion;
      },
    ],
    [
      'alg none',
      0,
      async () => {
        const now = nowSeconds();
        const claims = {
          iss: 'saaq-permis',
          sub: 'saaq-permis',
          aud: broker.tokenEndpoint,
          jti: randomUUID(),
          iat: now,
          exp: now + 120,
        };
        return `${json64({ alg: 'none', typ: 'JWT' })}.${json64(claims)}.`;
      },
    ],
    [
      'HS256 keyed with the service’s public JWK',
      0,
      async () => {
        const { d: _private, ...publicJwk } = service('saaq-permis').privateJwk;
        const now = nowSeconds();
        return new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid, typ: 'JWT' })
          .setIssuer('saaq-permis')
          .setSubject('saaq-permis')
          .setAudience(broker.tokenEndpoint)
          .setIssuedAt(now)
          .setExpirationTime(now + 120)
          .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
      },
    ],
    [
      'an unknown kid (a key the registry does not know)',
      0,
      () => assertionOf('saaq-permis', { key: freshEcKey(), kid: 'saaq-permis-2099' }),
    ],
    ['a stranger’s key under the registered kid', 0, () => assertionOf('saaq-permis', { key: freshEcKey() })],
    ['iss ≠ sub', 0, () => assertionOf('saaq-permis', { claims: { sub: 'saaq-adresse' } })],
    ['iss ≠ sub, iss the signer', 0, () => assertionOf('saaq-adresse', { claims: { sub: 'saaq-permis' } })],
    [
      'another service’s key under this service’s kid',
      0,
      () =>
        assertionOf('saaq-permis', {
          key: service('ramq-carte').privateJwk,
          kid: service('saaq-permis').privateJwk.kid,
        }),
    ],
    [
      'another service’s key under its own kid',
      0,
      () =>
        assertionOf('saaq-permis', {
          key: service('ramq-carte').privateJwk,
          kid: service('ramq-carte').privateJwk.kid,
        }),
    ],
    ['no jti', 0, () => assertionOf('saaq-permis', { claims: { jti: undefined } })],
    ['an empty jti', 0, () => assertionOf('saaq-permis', { claims: { jti: '' } })],
    ['a numeric jti', 0, () => assertionOf('saaq-permis', { claims: { jti: 12345 } })],
    [
      'an unknown client',
      0,
      () => assertionOf('ministere-fantome', { key: freshEcKey(), kid: 'ministere-fantome-1' }),
    ],
    [
      'an iss that is an Object prototype key',
      0,
      () => assertionOf('constructor', { key: freshEcKey(), kid: 'constructor' }),
    ],
    ['text that is not a JWT', 0, async () => 'pas-un-jeton'],
  ];

  it.each(rows)('%s → invalid_client', async (_label, writes, build) => {
    const before = await rememberedJtis();
    const assertion = await build();
    const response = await exchange(assertion);
    expectProblem(response, [400, 401], { error: 'invalid_client', code: 'invalid_client' });
    expect(response.body.access_token).toBeUndefined();
    expect(await rememberedJtis()).toBe(before + writes);
  });
});

describe('POST /oauth/token', () => {
  it('answers a valid assertion with a short-lived bearer token, not to be cached', async () => {
    const before = await rememberedJtis();
    const response = await exchange(await assertionOf('saaq-permis'));
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
    });
    expect(response.body.expires_in).toBeGreaterThan(0);
    expect(response.body.expires_in).toBeLessThanOrEqual(300);
    const claims = decodeJwt(response.body.access_token);
    expect(claims).toMatchObject({ sub: 'saaq-permis' });
    expect(claims.exp! - nowSeconds()).toBeLessThanOrEqual(300);
    expect(await rememberedJtis()).toBe(before + 1);
    // The token works: an unknown request is a 404, not a 401.
    await broker.http
      .get(`/v1/consent-requests/${randomUUID()}`)
      .set('Authorization', `Bearer ${response.body.access_token}`)
      .expect(404);
  });

  it('accepts the broker issuer itself as aud', async () => {
    const response = await exchange(await assertionOf('saaq-permis', { claims: { aud: BROKER_URL } }));
    expect(response.status).toBe(200);
    expect(response.body.token_type).toBe('Bearer');
  });

  it('accepts an exp 5 minutes ahead, the most the API allows', async () => {
    const response = await exchange(
      await assertionOf('saaq-permis', { claims: { exp: nowSeconds() + 300 } }),
    );
    expect(response.status).toBe(200);
  });

  it('lets one of three simultaneous uses of an assertion through', async () => {
    const assertion = await assertionOf('saaq-permis');
    const before = await rememberedJtis();
    const responses = await Promise.all([exchange(assertion), exchange(assertion), exchange(assertion)]);
    expect(responses.map(({ status }) => status).sort()).toEqual([200, 401, 401]);
    expect(await rememberedJtis()).toBe(before + 1);
  });

  it('refuses another grant type, without spending the assertion', async () => {
    const assertion = await assertionOf('saaq-permis');
    const before = await rememberedJtis();
    const response = await tokenRequest({
      grant_type: 'password',
      client_assertion_type: JWT_BEARER,
      client_assertion: assertion,
    });
    expectProblem(response, [400], { error: 'unsupported_grant_type' });
    expect(await rememberedJtis()).toBe(before);
    expect((await exchange(assertion)).status).toBe(200);
  });

  it('asks for the client assertion when there is none', async () => {
    const response = await tokenRequest({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
    });
    expectProblem(response, [400], { error: 'invalid_request' });
  });

  it('takes form-encoded requests only, as RFC 6749 says', async () => {
    const before = await rememberedJtis();
    const response = await broker.http.post('/oauth/token').send({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_BEARER,
      client_assertion: await assertionOf('saaq-permis'),
    });
    expectProblem(response, [400], { error: 'invalid_request' });
    expect(await rememberedJtis()).toBe(before);
  });
});

// ---------------------------------------------------------------- 2. access tokens

describe('An access token', () => {
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const consentRequest = { purpose: 'licence-renewal', attributes: ['address.residential'], mode: 'once' };

  it('carries its own service’s rights only', async () => {
    const refused = await broker.http
      .post('/v1/consent-requests')
      .set(await service('ramq-carte').auth())
      .send(consentRequest);
    expectProblem(refused, [422], { code: 'not_authorized' });
    await broker.http
      .post('/v1/consent-requests')
      .set(await service('saaq-permis').auth())
      .send(consentRequest)
      .expect(201);
  });

  it('sees its own service’s consent requests only, not even those of its organisation’s other services', async () => {
    const saaq = await service('saaq-permis').auth();
    const { body } = await broker.http
      .post('/v1/consent-requests')
      .set(saaq)
      .send(consentRequest)
      .expect(201);
    await broker.http.get(`/v1/consent-requests/${body.id}`).set(saaq).expect(200);
    for (const other of ['ramq-carte', 'saaq-adresse']) {
      const response = await broker.http
        .get(`/v1/consent-requests/${body.id}`)
        .set(await service(other).auth());
      expectProblem(response, [404], { code: 'consent_request_not_found' });
      expect(response.text).not.toContain('approvalUrl');
    }
  });

  it('minted here with the access-token key is accepted (so the refusals below are about what they change)', async () => {
    await broker.http
      .get(`/v1/consent-requests/${randomUUID()}`)
      .set(bearer(await brokerToken()))
      .expect(404);
  });

  const flipSignature = (token: string) => {
    const [header, payload, signature] = token.split('.');
    // The first character: the last one of a base64url signature holds padding bits a decoder may ignore.
    return `${header}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
  };

  it.each<[string, () => Promise<string>]>([
    ['garbage', async () => 'n.importe.quoi'],
    ['a tampered signature', async () => flipSignature(await brokerToken())],
    [
      'a tampered payload',
      async () => {
        const [header, payload, signature] = (await brokerToken()).split('.');
        const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
        return `${header}.${json64({ ...claims, sub: 'ramq-carte', client_id: 'ramq-carte', org: 'RAMQ' })}.${signature}`;
      },
    ],
    [
      'a token signed by another key under the access-token kid',
      () => brokerToken({ key: generateKeyPairSync('ed25519').privateKey }),
    ],
    [
      'a token signed by the platform output key, which the vault and the scheduler hold too',
      () => brokerToken({ key: platformKey, kid: PLATFORM_KID }),
    ],
    [
      'an expired token',
      () => brokerToken({ claims: { iat: nowSeconds() - 3600, exp: nowSeconds() - 600 } }),
    ],
    ['a token for another audience', () => brokerToken({ claims: { aud: 'http://vault.test' } })],
    ['a token of another issuer', () => brokerToken({ claims: { iss: 'http://vault.test' } })],
    ['a JWT under the access-token key not typed at+jwt', () => brokerToken({ typ: 'JWT' })],
    [
      'a token of a service not in the registry',
      () => brokerToken({ claims: { sub: 'ministere-fantome', client_id: 'ministere-fantome' } }),
    ],
    ['a token whose organisation is not its service’s', () => brokerToken({ claims: { org: 'RAMQ' } })],
    ['a client assertion', () => assertionOf('saaq-permis')],
  ])('is refused when it is %s', async (_label, token) => {
    const response = await broker.http.get(`/v1/consent-requests/${randomUUID()}`).set(bearer(await token()));
    expectProblem(response, [401], { code: 'unauthenticated' });
  });

  it('is accepted whatever the case of the Bearer scheme name (RFC 7235)', async () => {
    const response = await broker.http
      .get(`/v1/consent-requests/${randomUUID()}`)
      .set('Authorization', `bearer ${await brokerToken()}`);
    expectProblem(response, [404], { code: 'consent_request_not_found' });
  });

  it('is refused under another scheme than Bearer', async () => {
    const token = await brokerToken();
    const response = await broker.http
      .get(`/v1/consent-requests/${randomUUID()}`)
      .set('Authorization', `Basic ${token}`);
    expectProblem(response, [401], { code: 'unauthenticated' });
  });
});

// ---------------------------------------------------------------- 3. deny by default

interface ServedRoute {
  route: string;
  method: string;
  path: string;
}

/** Every route the broker's Fastify server registered (its onRoute hook, added at boot), HEAD twins aside. */
const registered: ServedRoute[] = [];

function recordRoutes(app: NestFastifyApplication): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') registered.push({ route: `${method} ${route.url}`, method, path: route.url });
    });
}

function servedRoutes(): ServedRoute[] {
  return registered;
}

/** A concrete URL for a route pattern: a sample value for each parameter. */
function sampleUrl(path: string): string {
  return path.replace(/[{}]/g, '').replace(/[:*]\w+/g, () => randomUUID());
}

interface Handler {
  route: string;
  controller: Type;
  handler: (...args: unknown[]) => unknown;
}

/** The methods of a prototype and of those it inherits, as Nest's metadata scanner sees them. */
function methodsOf(prototype: object): Handler['handler'][] {
  const methods = new Set<Handler['handler']>();
  for (let p = prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      const value = Object.getOwnPropertyDescriptor(p, name)?.value as unknown;
      if (name !== 'constructor' && typeof value === 'function') methods.add(value as Handler['handler']);
    }
  }
  return [...methods];
}

/** The route handlers of controller classes, as Nest will register them. */
function handlersOf(controllers: Type[]): Handler[] {
  return controllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    return methodsOf(controller.prototype)
      .filter((handler) => Reflect.getMetadata(METHOD_METADATA, handler) !== undefined)
      .map((handler) => {
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const path = `/${base}/${String(Reflect.getMetadata(PATH_METADATA, handler) ?? '')}`
          .replace(/\/+/g, '/')
          .replace(/(.)\/$/, '$1');
        return { route: `${method} ${path}`, controller, handler };
      });
  });
}

/** The handlers that neither say they are public nor name the rule they check, each as "METHOD /path (Class.method)". */
function undeclaredHandlers(controllers: Type[]): string[] {
  return handlersOf(controllers)
    .filter(({ controller, handler }) => {
      const isPublic =
        Reflect.getMetadata(IS_PUBLIC, handler) === true ||
        Reflect.getMetadata(IS_PUBLIC, controller) === true;
      const rule = Reflect.getMetadata(AUTHORIZE, handler) as unknown;
      return !isPublic && !(typeof rule === 'string' && rule.length > 0);
    })
    .map(({ route, controller, handler }) => `${route} (${controller.name}.${handler.name})`);
}

/** Every controller of the running broker, those its imported modules bring (health, metrics) included. */
function brokerControllers(): Type[] {
  const modules = [...broker.app.get(ModulesContainer).values()];
  return [
    ...new Set(
      modules.flatMap((module) =>
        [...module.controllers.values()].map((wrapper) => wrapper.metatype as Type),
      ),
    ),
  ];
}

describe('Deny by default', () => {
  const call = (method: string, url: string) => broker.http[method.toLowerCase() as 'get'](url);

  it('serves every route but the public ones only with a token', async () => {
    const routes = servedRoutes();
    const protectedRoutes = routes.filter(({ route }) => !PUBLIC_ROUTES.includes(route) && !isSwagger(route));
    // The walk did find the router: known routes are there, and the allowlist is not stale.
    expect(protectedRoutes.map(({ route }) => route)).toEqual(
      expect.arrayContaining(['POST /v1/data-requests', 'GET /v1/consent-requests/:id']),
    );
    expect(PUBLIC_ROUTES.filter((route) => !routes.some((served) => served.route === route))).toEqual([]);

    const open: string[] = [];
    for (const { route, method, path } of protectedRoutes) {
      const response = await call(method, sampleUrl(path));
      const type = response.headers['content-type'] ?? '';
      if (
        response.status !== 401 ||
        !type.startsWith('application/problem+json') ||
        response.body.code !== 'unauthenticated'
      ) {
        open.push(`${route} answered ${response.status} ${type} without a token`);
      }
    }
    expect(open).toEqual([]);

    const closed: string[] = [];
    for (const route of PUBLIC_ROUTES) {
      const [method, path] = route.split(' ');
      const response = await call(method, path);
      if (response.status === 401 || response.status === 403 || response.status === 404)
        closed.push(`${route} answered ${response.status}`);
    }
    expect(closed).toEqual([]);
  });

  it('serves nothing of its own for the middleware every request passes (request logs), nor for unknown paths', async () => {
    expect(servedRoutes().filter(({ route, path }) => path.includes('*') && !isSwagger(route))).toEqual([]);
    const response = await call('GET', `/${randomUUID()}`);
    expectProblem(response, [404], { code: 'route_not_found' });
  });

  it('has every route served by a Nest controller, under its guard (Swagger aside)', () => {
    const handled = new Set(handlersOf(brokerControllers()).map(({ route }) => route));
    const outside = servedRoutes()
      .map(({ route }) => route)
      .filter((route) => !handled.has(route) && !isSwagger(route));
    expect(outside).toEqual([]);
  });

  it('has every controller handler declare @Public or the @Authorize rule it checks', () => {
    const controllers = brokerControllers();
    expect(controllers).toEqual(
      expect.arrayContaining(BrokerAppModule.forRoot({ NODE_ENV: 'test' }).controllers ?? []),
    );
    expect(handlersOf(controllers).length).toBeGreaterThanOrEqual(8);
    expect(undeclaredHandlers(controllers)).toEqual([]);
  });

  describe('a handler with neither @Public nor @Authorize', () => {
    @Controller('v1/undeclared')
    class UndeclaredController {
      @Get()
      list() {
        return { leaked: true };
      }
    }

    it('is named by the check above', () => {
      expect(undeclaredHandlers([UndeclaredController])).toEqual([
        'GET /v1/undeclared (UndeclaredController.list)',
      ]);
    });

    it('is refused at runtime, to an authenticated service too', async () => {
      const module = BrokerAppModule.forRoot(testEnv(db, idp, BROKER_ENV));
      const running = await startApp({
        ...module,
        controllers: [...(module.controllers ?? []), UndeclaredController],
      });
      try {
        const saaq = new TestService('saaq-permis', {
          http: running.http,
          tokenEndpoint: `${BROKER_URL}/oauth/token`,
        });
        expectProblem(await running.http.get('/v1/undeclared'), [401], { code: 'unauthenticated' });
        const response = await running.http.get('/v1/undeclared').set(await saaq.auth());
        expectProblem(response, [403], { code: 'forbidden' });
        expect(response.body.type).toBe('urn:une-fois:problem:forbidden');
        expect(response.body.detail).toBe('This route declares no access rule.');
        expect(response.text).not.toContain('leaked');
      } finally {
        await running.close();
      }
    });
  });
});
