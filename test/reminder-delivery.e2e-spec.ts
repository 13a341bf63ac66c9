import { JOBS, QueueService } from '#libs/queues';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp } from './support/apps.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { MailCatcher } from './support/mail-catcher.js';
import { citizenWithPreferences, reminderRows, seedReminders, settled } from './support/reminders.js';
import { TestSmsProvider } from './support/sms-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Reminder delivery', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let scheduler: RunningApp;
  let mail: MailCatcher;
  let sms: TestSmsProvider;

  /** A citizen of the vault with these contact details and preferences; their id. */
  async function citizen(
    subject: string,
    contact: { email?: string; phone?: string },
    preferences: Parameters<typeof citizenWithPreferences>[2],
  ): Promise<string> {
    const auth = await vault.auth(subject);
    await vault.http.get('/v1/me').set(auth).expect(200);
    if (contact.email)
      await vault.http
        .put('/v1/me/attributes/contact.email')
        .set(auth)
        .send({ value: contact.email })
        .expect(200);
    if (contact.phone)
      await vault.http
        .put('/v1/me/attributes/contact.phone')
        .set(auth)
        .send({ value: contact.phone })
        .expect(200);
    return citizenWithPreferences(db.url, subject, preferences);
  }

  const deliveries = (reminderId: string) =>
    withClient(db.url, async (client) => {
      const { rows } = await client.query(
        `SELECT channel, status, reason FROM reminder_delivery WHERE reminder_id = $1 ORDER BY channel`,
        [reminderId],
      );
      return rows;
    });

  beforeAll(async () => {
    db = await createTestDatabase('reminderdelivery');
    idp = await new TestIdentityProvider().start();
    mail = await new MailCatcher().start();
    sms = await new TestSmsProvider().start();
    vault = await startVault('reminderdelivery', { db, idp });
    scheduler = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(db, idp, {
          SMTP_URL: mail.url,
          MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
          SMS_PROVIDER_URL: sms.url,
          SMS_PROVIDER_KEY: 'test-sms-key',
          REMINDER_SWEEP_SECONDS: '1',
          REMINDER_LEASE_SECONDS: '3',
          REMINDER_BACKOFF_SECONDS: '1',
          REMINDER_ATTEMPTS: '3',
          REMINDER_SEND_TIMEOUT_SECONDS: '2',
        }),
      ),
    );
  });

  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await sms?.stop();
    await mail?.stop();
    await idp?.stop();
    await db?.drop();
  });

  it('sends a due reminder on every enabled channel, in the citizen’s language, and not one that is not due', async () => {
    const citizenId = await citizen(
      'avery',
      { email: 'avery@example.ca', phone: '+15145550100' },
      { language: 'en', channels: { email: true, sms: true, portal: true } },
    );
    const [due] = await seedReminders(db.url, { citizenId, count: 1 });
    const [later] = await seedReminders(db.url, {
      citizenId,
      count: 1,
      sendAt: new Date(Date.now() + 3600_000),
    });

    const [row] = await settled(db.url, [due]);
    expect(row).toMatchObject({ status: 'sent', reason: null, attempts: 1, sent_at: expect.any(Date) });
    expect(await deliveries(due)).toEqual([
      { channel: 'email', status: 'sent', reason: null },
      { channel: 'portal', status: 'delivered', reason: null },
      { channel: 'sms', status: 'sent', reason: null },
    ]);
    const [email] = mail.messages.filter((m) => m.messageId === `<${due}@une-fois.quebec>`);
    expect(email.subject).toBe('Reminder: Renew your driver’s licence — in 7 days');
    expect(email.headers.get('content-language')).toBe('en');
    expect(email.to).toMatchObject({ value: [{ address: 'avery@example.ca' }] });
    expect(sms.requests).toHaveLength(1);
    expect(sms.requests[0].headers['idempotency-key']).toBe(due);
    expect(sms.requests[0].body).toEqual({
      to: '+15145550100',
      body: expect.stringContaining('(in 7 days)'),
    });
    const notifications = await withClient(db.url, (client) =>
      client.query(`SELECT id, language, subject FROM notification WHERE citizen_id = $1`, [citizenId]),
    );
    expect(notifications.rows).toEqual([{ id: due, language: 'en', subject: email.subject }]);

    expect(await reminderRows(db.url, [later])).toEqual([expect.objectContaining({ status: 'scheduled' })]);
    const metrics = await scheduler.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/reminder_sends_total\{channel="email",status="sent"\} 1/);
    expect(metrics.text).toMatch(/reminder_sends_total\{channel="portal",status="delivered"\} 1/);
  });

  it('records a reminder no channel can carry as suppressed, with the reason', async () => {
    const citizenId = await citizen(
      'blake',
      {},
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
    const [reminder] = await seedReminders(db.url, { citizenId, count: 1 });
    const [row] = await settled(db.url, [reminder]);
    expect(row).toMatchObject({ status: 'suppressed', reason: 'email: no e-mail address in the vault' });
    await citizenWithPreferences(db.url, 'blake', {
      language: 'fr',
      channels: { email: false, sms: false, portal: false },
    });
    const [none] = await seedReminders(db.url, { citizenId, count: 1 });
    expect((await settled(db.url, [none]))[0]).toMatchObject({
      status: 'suppressed',
      reason: "no channel enabled in the citizen's preferences",
    });
  });

  it('retries a failing SMTP server with backoff, then records failed after the last attempt', async () => {
    const citizenId = await citizen(
      'casey',
      { email: 'casey@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
    mail.answer = { code: 451, message: 'Greylisted, try again later' };
    try {
      const [reminder] = await seedReminders(db.url, { citizenId, count: 1 });
      const started = Date.now();
      const [row] = await settled(db.url, [reminder]);
      expect(row).toMatchObject({ status: 'failed', attempts: 3 });
      expect(row.reason).toMatch(/^email: last attempt: .*Greylisted/);
      // Backoff of 1 s then 2 s between the three attempts.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(mail.messages.filter((m) => m.messageId?.startsWith(`<${reminder}@`))).toHaveLength(0);
    } finally {
      mail.answer = 'accept';
    }
  });

  it('does not send a queued reminder that was cancelled before its job ran', async () => {
    const citizenId = await citizen(
      'dana',
      { email: 'dana@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: true } },
    );
    const [reminder] = await seedReminders(db.url, { citizenId, count: 1, status: 'queued' });
    await withClient(db.url, (client) =>
      client.query(`UPDATE reminder SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [
        reminder,
      ]),
    );
    const queues = scheduler.app.get(QueueService);
    await queues.addBulk([{ name: JOBS.sendReminder, data: { reminderId: reminder }, jobId: reminder }]);
    for (
      let i = 0;
      i < 100 && (await queues.states(JOBS.sendReminder, [reminder])).get(reminder) !== 'completed';
      i++
    )
      await sleep(50);
    expect((await queues.states(JOBS.sendReminder, [reminder])).get(reminder)).toBe('completed');
    expect(await reminderRows(db.url, [reminder])).toEqual([
      expect.objectContaining({ status: 'cancelled', attempts: 0 }),
    ]);
    expect(await deliveries(reminder)).toEqual([]);
    expect(mail.messages.filter((m) => m.messageId?.startsWith(`<${reminder}@`))).toHaveLength(0);
  });
});

describe('Reminder dispatch through the in-flight window', () => {
  let vault: RunningVault;
  let scheduler: RunningApp;
  let second: RunningApp;
  let mail: MailCatcher;

  beforeAll(async () => {
    mail = await new MailCatcher().start();
    vault = await startVault('reminderwindow');
  });
  afterAll(async () => {
    await second?.close();
    await scheduler?.close();
    await vault?.close();
    await mail?.stop();
  });

  it('holds at most the window in Redis, and refills it as it drains rather than once per sweep', async () => {
    const auth = await vault.auth('wren');
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(auth)
      .send({ value: 'wren@example.ca' })
      .expect(200);
    const citizenId = await citizenWithPreferences(vault.db.url, 'wren', {
      language: 'fr',
      channels: { email: true, sms: false, portal: false },
    });
    const reminders = await seedReminders(vault.db.url, { citizenId, count: 200 });
    scheduler = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(vault.db, vault.idp, {
          SMTP_URL: mail.url,
          REMINDER_SWEEP_SECONDS: '30',
          REMINDER_IN_FLIGHT: '10',
          REMINDER_CONCURRENCY: '4',
        }),
      ),
    );
    const queues = scheduler.app.get(QueueService);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await queues.unfinished(JOBS.sendReminder));
        await sleep(10);
      }
    })();
    // The first sweep comes within one period; after it, 200 reminders through a window of 10 take
    // 20 windows: one window per 30 s sweep would take ten minutes.
    const rows = await settled(vault.db.url, reminders, 45_000);
    sampling = false;
    await sampler;
    expect(rows.every((row) => row.status === 'sent')).toBe(true);
    expect(new Set(mail.messageIds()).size).toBe(200);
    // The sweep itself is a job of the same queue: one more than the window.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(11);
  }, 90_000);

  it('shares the work between two schedulers, each reminder sent once', async () => {
    const citizenId = await citizenWithPreferences(vault.db.url, 'wren', {
      language: 'fr',
      channels: { email: true, sms: false, portal: false },
    });
    second = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(vault.db, vault.idp, {
          SMTP_URL: mail.url,
          REMINDER_SWEEP_SECONDS: '1',
          REMINDER_IN_FLIGHT: '10',
        }),
      ),
    );
    const before = mail.messages.length;
    const reminders = await seedReminders(vault.db.url, { citizenId, count: 100 });
    const rows = await settled(vault.db.url, reminders, 45_000);
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
    const ids = mail.messageIds().slice(before);
    expect(ids).toHaveLength(100);
    expect(new Set(ids)).toEqual(new Set(reminders.map((id) => `<${id}@une-fois.localhost>`)));
  }, 90_000);
});
