import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUES } from '#libs/queues';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp } from './support/apps.js';
import { MailCatcher } from './support/mail-catcher.js';
import { reminderCitizen, seedReminders, settled } from './support/reminders.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAIL_FROM = 'Une fois <rappels@une-fois.quebec>';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a dedicated Redis loses to FLUSHALL, limited to this test's own
 * prefix: every key under it, at once (one script, which Redis runs with
 * nothing in between), as FLUSHALL would. How many keys went.
 */
const DELETE_PREFIX = `
  local keys = redis.call('KEYS', ARGV[1])
  for i = 1, #keys, 1000 do
    redis.call('DEL', unpack(keys, i, math.min(i + 999, #keys)))
  end
  return #keys`;

async function deleteEveryKey(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    return (await redis.eval(DELETE_PREFIX, 0, `${prefix}:*`)) as number;
  } finally {
    redis.disconnect();
  }
}

/** A citizen of the vault with an e-mail address and only e-mail reminders; their id. */
const emailCitizen = (vault: RunningVault, subject: string) =>
  reminderCitizen(
    vault,
    subject,
    { email: `${subject}@example.ca` },
    { language: 'fr', channels: { email: true, sms: false, portal: false } },
  );

async function waitUntil(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Whether a reminder sweep ended after `since` (epoch ms). */
async function sweptSince(sweeps: Queue, since: number): Promise<boolean> {
  const [last] = await sweeps.getJobs(['completed'], 0, 0, false);
  return (last?.finishedOn ?? 0) > since;
}

/** Every due reminder arrived, once per distinct Message-ID derived from its id; the duplicates. */
function checkArrivals(mail: MailCatcher, reminders: string[]): number {
  const ids = mail.messageIds();
  expect(new Set(ids)).toEqual(new Set(reminders.map((id) => `<${id}@une-fois.quebec>`)));
  return ids.length - new Set(ids).size;
}

const settings = (mail: MailCatcher) => ({
  SMTP_URL: mail.url,
  MAIL_FROM,
  REMINDER_SWEEP_SECONDS: '1',
  // The shortest lease three channels of 1 s allow: what was lost comes back within it.
  REMINDER_SEND_TIMEOUT_SECONDS: '1',
  REMINDER_LEASE_SECONDS: '8',
  REMINDER_BACKOFF_SECONDS: '1',
  // One send at a time: a kill can then fall between the server's acceptance and the status write of one reminder at most.
  REMINDER_CONCURRENCY: '1',
  REMINDER_IN_FLIGHT: '20',
});

describe('Reminder faults: Redis emptied in the middle of a run', () => {
  let vault: RunningVault;
  let scheduler: RunningApp;
  let mail: MailCatcher;

  beforeAll(async () => {
    mail = await new MailCatcher().start();
    mail.delayMs = 30;
    vault = await startVault('reminderflush');
  });
  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await mail?.stop();
  });

  it('loses no reminder and sends none twice: the sweeper queues again what was queued and lost', async () => {
    const citizenId = await emailCitizen(vault, 'flora');
    const reminders = await seedReminders(vault.db.url, { citizenId, count: 60 });
    scheduler = await startApp(SchedulerAppModule.forRoot(testEnv(vault.db, vault.idp, settings(mail))));

    await waitUntil(() => mail.messages.length >= 15);
    expect(await deleteEveryKey(vault.db.name)).toBeGreaterThan(0);
    const sentBefore = mail.messages.length;
    expect(sentBefore).toBeLessThan(60);

    const rows = await settled(vault.db.url, reminders, 90_000);
    expect(rows.every((row) => row.status === 'sent')).toBe(true);
    expect(checkArrivals(mail, reminders)).toBe(0);
  }, 150_000);
});

describe('Reminder faults: the scheduler killed with SIGKILL in the middle of a run of sends', () => {
  let vault: RunningVault;
  let mail: MailCatcher;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    // The scheduler runs as `npm run start:scheduler` does: from the build, in a process of its own.
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
    mail = await new MailCatcher().start();
    mail.delayMs = 30;
    vault = await startVault('reminderkill');
  }, 120_000);
  afterAll(async () => {
    child?.kill('SIGKILL');
    await vault?.close();
    await mail?.stop();
  });

  function startScheduler(): ChildProcess {
    const env = {
      ...process.env,
      NODE_OPTIONS: '',
      SCHEDULER_PORT: '0',
      ...testEnv(vault.db, vault.idp, settings(mail)),
    };
    const started = spawn('node', ['dist/apps/scheduler/src/main.js'], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child = started;
    return started;
  }

  async function kill(process: ChildProcess): Promise<void> {
    const exited = new Promise((resolve) => process.once('exit', resolve));
    process.kill('SIGKILL');
    await exited;
  }

  it('loses no reminder; one arrives twice only when a kill fell between acceptance and the status write', async () => {
    const citizenId = await emailCitizen(vault, 'kim');
    const reminders = await seedReminders(vault.db.url, { citizenId, count: 80 });
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const sweeps = new Queue(QUEUES.reminderSweeps, { connection, prefix: vault.db.name });
    // Each kill falls while the backlog lasts, so during a sweep, which holds the sweeps queue's one slot:
    // the next scheduler takes it again once the sweep is seen stalled (a 5 s lock and checks every 5 s),
    // not after BullMQ's 30 s ones.
    const sweepsAgain = async (since: number) => {
      for (const end = since + 25_000; !(await sweptSince(sweeps, since)); await sleep(100))
        if (Date.now() > end) throw new Error('no sweep within 25 s of the restart');
    };
    try {
      let kills = 0;
      for (const at of [15, 40]) {
        const scheduler = startScheduler();
        if (kills > 0) await sweepsAgain(Date.now());
        await waitUntil(() => mail.messages.length >= at, 90_000);
        await kill(scheduler);
        kills++;
      }
      expect(mail.messages.length).toBeLessThan(80);
      startScheduler();
      await sweepsAgain(Date.now());

      const rows = await settled(vault.db.url, reminders, 150_000);
      expect(rows.every((row) => row.status === 'sent')).toBe(true);
      expect(checkArrivals(mail, reminders)).toBeLessThanOrEqual(kills);
    } finally {
      await sweeps.close();
      connection.disconnect();
    }
  }, 300_000);
});
