import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ManualClock } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { JOBS, QUEUES, QueueService } from '#libs/queues';
import { NO_ATTEMPT_LEFT, ReminderSweeper } from '#libs/reminders';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp } from './support/apps.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { MailCatcher } from './support/mail-catcher.js';
import { metricEventsPassSchema } from './support/metric-events.js';
import {
  citizenWithPreferences,
  reminderRows,
  seedReminders,
  settled,
  reminderCitizen,
} from './support/reminders.js';
import { TestSmsProvider } from './support/sms-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ queue of the test's own prefix, to look at what the scheduler left in Redis. */
function queueOf(prefix: string, name: string): { queue: Queue; close: () => Promise<void> } {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`still ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

describe('Reminder delivery', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let scheduler: RunningApp;
  let mail: MailCatcher;
  let sms: TestSmsProvider;

  const citizen = (
    subject: string,
    contact: { email?: string; phone?: string },
    preferences: Parameters<typeof citizenWithPreferences>[2],
  ) => reminderCitizen(vault, subject, contact, preferences);

  /** The metric events written for a reminder (its final status). */
  const reminderEvents = async (reminderId: string) =>
    (
      await withClient(db.url, (client) =>
        client.query<{ type: string; data: Record<string, unknown> }>(
          `SELECT type, data FROM outbox_event WHERE topic = 'metric' AND data->>'reminder' = $1`,
          [reminderId],
        ),
      )
    ).rows;
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
          // The shortest lease three channels of 2 s allow.
          REMINDER_LEASE_SECONDS: '11',
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
    // Its metric event, written with the final status (rule 7): the deadline's facts, not the citizen.
    const [deadline] = (
      await withClient(db.url, (client) =>
        client.query(
          `SELECT deadline_id AS id, r.sent_at, d.due_at FROM reminder r
                      JOIN deadline d ON d.id = r.deadline_id WHERE r.id = $1`,
          [due],
        ),
      )
    ).rows;
    expect(await reminderEvents(due)).toEqual([
      {
        type: 'reminder.sent',
        data: {
          reminder: due,
          deadline: deadline.id,
          kind: 'licence-renewal',
          organisation: 'SAAQ',
          service: 'saaq-permis',
          dueAt: expect.any(String),
          at: expect.any(String),
        },
      },
    ]);
    const [{ data }] = await reminderEvents(due);
    expect(new Date(data.at as string)).toEqual(deadline.sent_at);
    expect(new Date(data.dueAt as string)).toEqual(deadline.due_at);
    expect(JSON.stringify(data)).not.toContain(citizenId);
    expect(await metricEventsPassSchema(scheduler.dataSource, scheduler.app.get(PlatformSigner))).toContain(
      'reminder.sent',
    );
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
    // The server quotes the address, as many do: it stays out of the row, Redis and the logs.
    mail.answer = { code: 451, message: '4.7.1 <casey@example.ca>: Greylisted, try again later' };
    const { queue, close } = queueOf(db.name, QUEUES.reminders);
    try {
      const [reminder] = await seedReminders(db.url, { citizenId, count: 1 });
      const started = Date.now();
      const [row] = await settled(db.url, [reminder]);
      expect(row).toMatchObject({
        status: 'failed',
        attempts: 3,
        reason: 'email: last attempt: SMTP 451 4.7.1',
      });
      // Backoff of 1 s then 2 s between the three attempts.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(mail.messages.filter((m) => m.messageId?.startsWith(`<${reminder}@`))).toHaveLength(0);
      const job = await queue.getJob(reminder);
      expect(job?.attemptsMade).toBe(3);
      expect(job?.failedReason).toBe('reminder not sent yet: email: SMTP 451 4.7.1');
      expect(JSON.stringify([job?.failedReason, job?.stacktrace, job?.returnvalue])).not.toContain('@');
      // The two attempts that failed and were tried again are counted on /metrics, by queue and job and by
      // channel; the last one ended the job (the reminder recorded failed), and is counted as a failed send.
      const metrics = (await scheduler.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^queue_job_failures_total\{queue="\{reminders\}",job="send-reminder"\} 2$/m);
      expect(metrics).toMatch(/^reminder_sends_total\{channel="email",status="retry"\} 2$/m);
      expect(metrics).toMatch(/^reminder_sends_total\{channel="email",status="failed"\} 1$/m);
    } finally {
      mail.answer = 'accept';
      await close();
    }
  });

  it('records a reminder that fails for any reason (here its citizen’s data key) as failed after the last attempt', async () => {
    const citizenId = await citizen(
      'ellis',
      { email: 'ellis@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: true } },
    );
    // The wrapped data key no longer opens: the contact details cannot be read.
    await withClient(db.url, (client) =>
      client.query(
        `UPDATE citizen_key SET wrapped_key = decode(md5(random()::text) || md5(random()::text), 'hex') WHERE citizen_id = $1`,
        [citizenId],
      ),
    );
    // Due at the same moment as another citizen's reminders: the failure stays with its own reminder.
    const neighbour = await citizen(
      'fern',
      { email: 'fern@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: true } },
    );
    const sendAt = new Date(Date.now() - 60_000);
    const [reminder] = await seedReminders(db.url, { citizenId, count: 1, sendAt });
    const others = await seedReminders(db.url, { citizenId: neighbour, count: 3, sendAt });
    const [row] = await settled(db.url, [reminder], 30_000);
    expect(row).toMatchObject({ status: 'failed', attempts: 3 });
    expect(row.reason).toMatch(/^last attempt: unexpected error: \w+/);
    expect(row.reason).not.toContain('@');
    expect(await deliveries(reminder)).toEqual([]);
    // The others went out at their first attempt.
    const sent = await settled(db.url, others, 30_000);
    expect(sent.map((other) => [other.status, other.attempts])).toEqual(Array(3).fill(['sent', 1]));
  });

  it('records failed, not queued again, a reminder whose lease ran out after its last attempt', async () => {
    const citizenId = await citizen(
      'flynn',
      { email: 'flynn@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
    const [reminder] = await seedReminders(db.url, { citizenId, count: 1, status: 'queued' });
    // Its third attempt started, then the worker died: no job in Redis, the lease past.
    await withClient(db.url, (client) =>
      client.query(
        `UPDATE reminder SET attempts = 3, lease_until = now() - interval '1 minute' WHERE id = $1`,
        [reminder],
      ),
    );
    const [row] = await settled(db.url, [reminder]);
    expect(row).toMatchObject({ status: 'failed', attempts: 3, reason: NO_ATTEMPT_LEFT });
    expect(mail.messages.filter((m) => m.messageId?.startsWith(`<${reminder}@`))).toHaveLength(0);
    expect((await reminderEvents(reminder)).map((event) => event.type)).toEqual(['reminder.failed']);
  });

  it('queues again a reminder whose job hash was left outside every list of the queue', async () => {
    const citizenId = await citizen(
      'gale',
      { email: 'gale@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
    const [reminder] = await seedReminders(db.url, { citizenId, count: 1, status: 'queued' });
    const redis = new Redis(REDIS_URL);
    const { queue, close } = queueOf(db.name, QUEUES.reminders);
    try {
      // A job's hash with no place in any list: BullMQ would take an add under its id as a duplicate.
      await redis.hset(`${db.name}:${QUEUES.reminders}:${reminder}`, {
        name: JOBS.sendReminder,
        data: JSON.stringify({ reminderId: reminder }),
        opts: '{}',
        timestamp: String(Date.now()),
      });
      expect(await queue.getJobState(reminder)).toBe('unknown');
      await withClient(db.url, (client) =>
        client.query(`UPDATE reminder SET lease_until = now() - interval '1 minute' WHERE id = $1`, [
          reminder,
        ]),
      );
      const [row] = await settled(db.url, [reminder], 20_000);
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
      expect(mail.messages.filter((m) => m.messageId === `<${reminder}@une-fois.quebec>`)).toHaveLength(1);
    } finally {
      redis.disconnect();
      await close();
    }
  });

  it('does not send again when the status write fails for a moment after the server accepted', async () => {
    const citizenId = await citizen(
      'hale',
      { email: 'hale@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
    const [reminder] = await seedReminders(db.url, {
      citizenId,
      count: 1,
      sendAt: new Date(Date.now() + 3600_000),
    });
    // The first two writes of its result fail, as in a database blip (a sequence is not rolled back).
    await withClient(db.url, (client) =>
      client.query(
        `CREATE SEQUENCE blip_seq;
         CREATE FUNCTION blip() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN IF nextval('blip_seq') <= 2 THEN RAISE EXCEPTION 'blip'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER blip BEFORE INSERT ON reminder_delivery FOR EACH ROW
           WHEN (NEW.reminder_id = '${reminder}') EXECUTE FUNCTION blip();
         UPDATE reminder SET send_at = now() - interval '1 minute' WHERE id = '${reminder}';`,
      ),
    );
    try {
      const [row] = await settled(db.url, [reminder]);
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
      expect(mail.messages.filter((m) => m.messageId === `<${reminder}@une-fois.quebec>`)).toHaveLength(1);
      expect(await deliveries(reminder)).toEqual([{ channel: 'email', status: 'sent', reason: null }]);
    } finally {
      await withClient(db.url, (client) =>
        client.query(`DROP TRIGGER blip ON reminder_delivery; DROP FUNCTION blip(); DROP SEQUENCE blip_seq`),
      );
    }
  });

  it('sweeps from a queue of its own, and leaves the job scheduler alone while its period is right', async () => {
    const sweeps = queueOf(db.name, QUEUES.reminderSweeps);
    const sends = queueOf(db.name, QUEUES.reminders);
    try {
      const before = await sweeps.queue.getJobScheduler(JOBS.sweepReminders);
      expect(before).toMatchObject({ every: 1000 });
      expect(await sends.queue.getJobScheduler(JOBS.sweepReminders)).toBeUndefined();
      // Every replica calls it again and again: the next run is not pushed back.
      expect(await scheduler.app.get(ReminderSweeper).schedule()).toBe(false);
      const after = await sweeps.queue.getJobScheduler(JOBS.sweepReminders);
      expect(after?.next).toBe((await sweeps.queue.getJobScheduler(JOBS.sweepReminders))?.next);
      expect(Number(after?.next)).toBeGreaterThanOrEqual(Number(before?.next));
    } finally {
      await sweeps.close();
      await sends.close();
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
      // As a cancellation does: a lease is held by queued reminders only (reminder_lease_ck).
      client.query(
        `UPDATE reminder SET status = 'cancelled', cancelled_at = now(), lease_until = NULL WHERE id = $1`,
        [reminder],
      ),
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
    const citizenId = await reminderCitizen(
      vault,
      'wren',
      { email: 'wren@example.ca' },
      { language: 'fr', channels: { email: true, sms: false, portal: false } },
    );
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
    // The sweep has a queue of its own: the window alone.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
  }, 90_000);

  it('shares the work between two schedulers whose sweeps race, each reminder sent once', async () => {
    const citizenId = await citizenWithPreferences(vault.db.url, 'wren', {
      language: 'fr',
      channels: { email: true, sms: false, portal: false },
    });
    second = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(vault.db, vault.idp, {
          SMTP_URL: mail.url,
          REMINDER_SWEEP_SECONDS: '30',
          REMINDER_IN_FLIGHT: '10',
          REMINDER_CONCURRENCY: '4',
        }),
      ),
    );
    const before = mail.messages.length;
    const reminders = await seedReminders(vault.db.url, { citizenId, count: 100 });
    // Both claim at the same moment, each refilling the window as it drains.
    await Promise.all([scheduler, second].map((app) => app.app.get(ReminderSweeper).sweep()));
    const rows = await settled(vault.db.url, reminders, 45_000);
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
    const ids = mail.messageIds().slice(before);
    expect(ids).toHaveLength(100);
    expect(new Set(ids)).toEqual(new Set(reminders.map((id) => `<${id}@une-fois.localhost>`)));
  }, 90_000);

  it('runs one sweep at a time over every scheduler, each handing over to the next with no gap in a backlog', async () => {
    await second?.close();
    await scheduler?.close();
    const sweeperOf = (app: RunningApp) => app.app.get(ReminderSweeper);
    const env = testEnv(vault.db, vault.idp, {
      SMTP_URL: mail.url,
      REMINDER_SWEEP_SECONDS: '1',
      REMINDER_IN_FLIGHT: '4',
      REMINDER_CONCURRENCY: '2',
    });
    scheduler = await startApp(SchedulerAppModule.forRoot(env));
    second = await startApp(SchedulerAppModule.forRoot(env));
    const sweeps = queueOf(vault.db.name, QUEUES.reminderSweeps);
    try {
      expect(await sweeps.queue.getGlobalConcurrency()).toBe(1);
      // Redis lost the setting (flushed): the next check of the job scheduler puts it back.
      await sweeps.queue.removeGlobalConcurrency();
      expect(await sweeperOf(second).schedule()).toBe(true);
      expect(await sweeps.queue.getGlobalConcurrency()).toBe(1);
      expect(await sweeperOf(scheduler).schedule()).toBe(false);

      const citizenId = await reminderCitizen(
        vault,
        'yara',
        { email: 'yara@example.ca' },
        { language: 'fr', channels: { email: true, sms: false, portal: false } },
      );
      const before = mail.messages.length;
      const reminders = await seedReminders(vault.db.url, { citizenId, count: 300 });
      // Through a window of 4 the backlog lasts several sweep periods, each sweep refilling for its whole
      // period: the next one is due before it ends, and the other scheduler's idle sweep worker would take it.
      const active: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          // From the first e-mail of the backlog to its last.
          if (mail.messages.length > before) active.push(await sweeps.queue.getActiveCount());
          await sleep(10);
        }
      })();
      const rows = await settled(vault.db.url, reminders, 60_000);
      sampling = false;
      await sampler;
      expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
      expect(new Set(mail.messageIds().slice(before)).size).toBe(300);
      expect(Math.max(...active)).toBe(1);
      // A sweep runs for as long as the backlog lasts, in turns: none stops short of the next one.
      const busy = active.filter((count) => count === 1).length / active.length;
      expect(busy).toBeGreaterThan(0.9);
    } finally {
      await sweeps.close();
    }
  }, 90_000);
});

describe('Reminder delivery inside quiet hours', () => {
  // 23:00 in Montréal (UTC−5 in November): inside the citizen's quiet hours, 21:00 to 08:00.
  const clock = new ManualClock(new Date('2026-11-26T04:00:00Z'));
  let vault: RunningVault;
  let scheduler: RunningApp;
  let mail: MailCatcher;

  beforeAll(async () => {
    mail = await new MailCatcher().start();
    vault = await startVault('reminderquiet');
    scheduler = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(vault.db, vault.idp, { SMTP_URL: mail.url, REMINDER_SWEEP_SECONDS: '1' }),
        { clock },
      ),
    );
  });
  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await mail?.stop();
  });

  it('puts a reminder reaching a worker in quiet hours back to scheduled at their end, no attempt counted', async () => {
    const citizenId = await reminderCitizen(
      vault,
      'iris',
      { email: 'iris@example.ca' },
      {
        language: 'fr',
        channels: { email: true, sms: false, portal: false },
        quietHours: { start: '21:00', end: '08:00' },
      },
    );
    // Due since 20:00, before the quiet hours began: a backlog the scheduler reaches only at 23:00.
    const [reminder] = await seedReminders(vault.db.url, {
      citizenId,
      count: 1,
      sendAt: new Date('2026-11-26T01:00:00Z'),
    });
    const sendAt = () =>
      withClient(vault.db.url, async (client) => {
        const { rows } = await client.query(`SELECT status, send_at, attempts FROM reminder WHERE id = $1`, [
          reminder,
        ]);
        return rows[0] as { status: string; send_at: Date; attempts: number };
      });
    // Back to scheduled at 08:00 the next morning (13:00 UTC), not sent.
    const deferred = await waitFor(
      sendAt,
      (row) => row.send_at.getTime() !== Date.parse('2026-11-26T01:00:00Z'),
    );
    expect(deferred).toEqual({ status: 'scheduled', send_at: new Date('2026-11-26T13:00:00Z'), attempts: 0 });
    await sleep(2500);
    expect(await sendAt()).toEqual(deferred);
    expect(mail.messages).toHaveLength(0);

    clock.set(new Date('2026-11-26T13:00:00Z'));
    const [row] = await settled(vault.db.url, [reminder], 20_000);
    expect(row).toMatchObject({ status: 'sent', attempts: 1 });
    expect(mail.messageIds()).toEqual([`<${reminder}@une-fois.localhost>`]);
  });
});
