import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { PlatformSigner } from '#libs/crypto';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

interface Received {
  eventId: string;
  contentType: string;
  body: string;
}

/** A service's webhook endpoint on loopback; "down" means nothing listens on its port. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server | null = null;
  port = 0;

  async reservePort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    this.port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return this.port;
  }

  async up(): Promise<void> {
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.received.push({
          eventId: String(request.headers['x-une-fois-event-id']),
          contentType: String(request.headers['content-type']),
          body,
        });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Webhooks', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;
  let scheduler: RunningApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    db = await createTestDatabase('webhooks');
    idp = await new TestIdentityProvider().start();
    const port = await receiver.reservePort();
    const registry = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.yaml');
    writeFileSync(
      registry,
      readFileSync('config/registry.yaml', 'utf8').replace(
        '  - id: saaq-permis\n    organisation: SAAQ\n',
        `  - id: saaq-permis\n    organisation: SAAQ\n    webhook_url: http://127.0.0.1:${port}/hooks\n`,
      ),
    );
    const env = { REGISTRY_FILE: registry, OUTBOX_POLL_MILLISECONDS: '100' };
    vault = await startVault('webhooks', { db, idp, env });
    broker = await startBroker(db, idp, env);
    scheduler = await startApp(SchedulerAppModule.forRoot(testEnv(db, idp, env)));
  });
  afterAll(async () => {
    await scheduler.close();
    await broker.close();
    await vault.close();
    await receiver.down();
    await idp.stop();
    await db.drop();
  });

  it('retries while the receiver is down and delivers once it is up, same id, valid signature', async () => {
    const alice = await vault.auth('alice');
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: 'alice@exemple.ca' })
      .expect(200);
    const granted = await vault.http
      .post('/v1/me/consents')
      .set(alice)
      .send({
        service: 'saaq-permis',
        purpose: 'licence-renewal',
        attributes: ['address.residential'],
        mode: 'ongoing',
      })
      .expect(201);

    const attempts = () =>
      vault.dataSource.query(
        `SELECT id, attempts, status, last_error FROM outbox_event WHERE topic = 'webhook' AND type = 'consent.granted'`,
      );
    const [failing] = await until(async () => {
      const rows = await attempts();
      return rows[0]?.attempts >= 2 ? rows : null;
    });
    expect(failing.status).toBe('pending');
    expect(failing.last_error).toMatch(/fetch failed|ECONNREFUSED/);
    expect(receiver.received).toEqual([]);

    await receiver.up();
    const [delivered] = await until(async () => {
      const rows = await attempts();
      return rows[0]?.status === 'delivered' ? rows : null;
    });
    expect(delivered.id).toBe(failing.id);
    expect(receiver.received).toHaveLength(1);
    const [event] = receiver.received;
    expect(event.contentType).toBe('application/jose');
    expect(event.eventId).toBe(failing.id);
    const keys = createLocalJWKSet(broker.app.get(PlatformSigner).jwks());
    const { payload, protectedHeader } = await compactVerify(event.body, keys);
    expect(protectedHeader.typ).toBe('webhook+jwt');
    const body = JSON.parse(new TextDecoder().decode(payload));
    expect(body).toMatchObject({
      id: failing.id,
      type: 'consent.granted',
      occurredAt: expect.any(String),
      aud: 'saaq-permis', // the receiving service: an event cannot be passed off to another one
      data: {
        consentId: granted.body.id,
        citizen: { ppid: expect.any(String) },
        purpose: 'licence-renewal',
        attributes: ['address.residential'],
      },
    });
    expect(event.body).not.toContain('alice');

    // "Tell once": the official source changes the address; the consent holder hears of it, without the value.
    const ppid = body.data.citizen.ppid;
    const writer = await broker.service('saaq-adresse').auth();
    await broker.http
      .put(`/v1/citizens/${ppid}/attributes/address.residential`)
      .set(writer)
      .send({ value: { line1: '5 rue Principale', city: 'Québec', province: 'QC', postalCode: 'G1R 4P5' } })
      .expect(200);
    const changed = await until(async () => receiver.received.find((r) => r.eventId !== failing.id));
    const changedBody = JSON.parse(
      new TextDecoder().decode((await compactVerify(changed.body, keys)).payload),
    );
    expect(changedBody).toMatchObject({
      type: 'attribute.changed',
      aud: 'saaq-permis',
      data: { citizen: { ppid }, attribute: 'address.residential', source: 'SAAQ' },
    });
    expect(changed.body).not.toContain('Principale');

    // Revocation is pushed too.
    await vault.http.delete(`/v1/me/consents/${granted.body.id}`).set(alice).expect(200);
    const revoked = await until(async () =>
      receiver.received.find((r) => !JSON.stringify(r).includes(failing.id) && r !== changed),
    );
    const revokedBody = JSON.parse(
      new TextDecoder().decode((await compactVerify(revoked.body, keys)).payload),
    );
    expect(revokedBody).toMatchObject({
      type: 'consent.revoked',
      data: { consentId: granted.body.id, citizen: { ppid } },
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(3); // each event once

    // The citizen's own change of a self-declared value is told once as well.
    await vault.http
      .post('/v1/me/consents')
      .set(alice)
      .send({
        service: 'saaq-permis',
        purpose: 'licence-renewal',
        attributes: ['contact.email'],
        mode: 'ongoing',
      })
      .expect(201);
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(alice)
      .send({ value: 'alice.nouvelle@exemple.ca' })
      .expect(200);
    const types = await until(async () => {
      const bodies = await Promise.all(
        receiver.received
          .slice(3)
          .map(async (r) =>
            JSON.parse(new TextDecoder().decode((await compactVerify(r.body, keys)).payload)),
          ),
      );
      return bodies.length >= 2 ? bodies : null;
    });
    expect(types.map((b) => b.type).sort()).toEqual(['attribute.changed', 'consent.granted']);
    expect(types.find((b) => b.type === 'attribute.changed').data).toMatchObject({
      citizen: { ppid },
      attribute: 'contact.email',
      source: 'citizen',
    });
    expect(JSON.stringify(receiver.received)).not.toContain('nouvelle');
  });
});
