import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import { PlatformSigner } from '#libs/crypto';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp } from './support/apps.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

/** A service's webhook endpoint on loopback, with what it saw. */
class Receiver {
  readonly eventIds: string[] = [];
  readonly bodies: string[] = [];
  open = 0;
  closed = 0;
  mostOpenAtOnce = 0;
  private server: Server | null = null;
  url = '';

  constructor(private readonly answer: (request: IncomingMessage, response: ServerResponse) => void) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.open++;
      this.mostOpenAtOnce = Math.max(this.mostOpenAtOnce, this.open);
      response.on('close', () => {
        this.open--;
        this.closed++;
      });
      this.eventIds.push(String(request.headers['x-une-fois-event-id']));
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        this.bodies.push(body);
        this.answer(request, response);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const STATUS_LINE = 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n';
const timers = new Set<NodeJS.Timeout>();

/** One byte of a valid answer every 3 s, never finishing: the socket is never idle long enough to time out. */
function trickle(_request: IncomingMessage, response: ServerResponse): void {
  let sent = 0;
  const socket = response.socket!;
  const next = () => {
    if (socket.destroyed || sent >= STATUS_LINE.length - 1) return;
    socket.write(STATUS_LINE[sent++]);
    const timer = setTimeout(next, 3000);
    timers.add(timer);
    socket.once('close', () => clearTimeout(timer));
  };
  next();
}

async function until<T>(
  probe: () => Promise<T | null | undefined | false> | T,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Webhook deadlines and per-service concurrency', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let scheduler: RunningApp;
  const slow = new Receiver(trickle);
  const fast = new Receiver((_request, response) => response.writeHead(204).end());

  beforeAll(async () => {
    db = await createTestDatabase('webhookdeadlines');
    idp = await new TestIdentityProvider().start();
    await slow.start();
    await fast.start();
    const registry = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.yaml');
    writeFileSync(
      registry,
      readFileSync('config/registry.yaml', 'utf8')
        .replace(
          '  - id: saaq-permis\n    organisation: SAAQ\n',
          `  - id: saaq-permis\n    organisation: SAAQ\n    webhook_url: ${slow.url}\n`,
        )
        .replace(
          '  - id: ramq-carte\n    organisation: RAMQ\n',
          `  - id: ramq-carte\n    organisation: RAMQ\n    webhook_url: ${fast.url}\n`,
        ),
    );
    const env = {
      REGISTRY_FILE: registry,
      OUTBOX_POLL_MILLISECONDS: '100',
      // Two deliveries at once in this scheduler, at most one per service, each cut after 7 s.
      WEBHOOK_CONCURRENCY: '2',
      WEBHOOK_CONCURRENCY_PER_SERVICE: '1',
      WEBHOOK_TIMEOUT_SECONDS: '7',
    };
    vault = await startVault('webhookdeadlines', { db, idp, env });
    scheduler = await startApp(SchedulerAppModule.forRoot(testEnv(db, idp, env)));
  });
  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    for (const timer of timers) clearTimeout(timer);
    await slow.stop();
    await fast.stop();
    await idp?.stop();
    await db?.drop();
  });

  async function grant(subject: string, service: string, purpose: string): Promise<string> {
    const response = await vault.http
      .post('/v1/me/consents')
      .set(await vault.auth(subject))
      .send({ service, purpose, attributes: ['address.residential'], mode: 'ongoing' })
      .expect(201);
    return response.body.id;
  }

  it('cuts a trickling receiver at its deadline, holding only its own slot, and retries it with the same event id', async () => {
    // Two events for the trickling service: without a per-service cap they would take both delivery slots.
    await grant('alice', 'saaq-permis', 'licence-renewal');
    await grant('ben', 'saaq-permis', 'licence-renewal');
    await until(() => slow.open === 1);

    await grant('cleo', 'ramq-carte', 'health-card-renewal');
    await until(() => fast.bodies.length === 1);
    // Delivered while the trickling receiver's first attempt still runs, before any deadline passed.
    expect(slow.closed).toBe(0);
    expect(slow.eventIds).toHaveLength(1);
    const keys = createLocalJWKSet(scheduler.app.get(PlatformSigner).jwks());
    const delivered = await compactVerify(fast.bodies[0], keys);
    expect(delivered.protectedHeader.typ).toBe('webhook+jwt');
    expect(JSON.parse(new TextDecoder().decode(delivered.payload))).toMatchObject({
      type: 'consent.granted',
      aud: 'ramq-carte',
    });
    const [fastRow] = await vault.dataSource.query(
      `SELECT status FROM outbox_event WHERE service_id = 'ramq-carte'`,
    );
    expect(fastRow.status).toBe('delivered');

    // The first slow attempt is cut at its deadline and tried again later, under the same event id.
    const firstId = slow.eventIds[0];
    await until(() => slow.eventIds.filter((id) => id === firstId).length >= 2);
    expect(slow.mostOpenAtOnce).toBe(1);
    const [slowRow] = await vault.dataSource.query(
      `SELECT status, attempts, last_error FROM outbox_event WHERE id = $1`,
      [firstId],
    );
    expect(slowRow).toMatchObject({ status: 'pending', last_error: 'no complete answer within 7000 ms' });
    expect(slowRow.attempts).toBeGreaterThanOrEqual(1);
    expect(new Set(slow.eventIds).size).toBe(2); // both slow events had their turn
  });
});
