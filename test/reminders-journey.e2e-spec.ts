import ICAL from 'ical.js';
import { DateTime } from 'luxon';
import type { ParsedMail } from 'mailparser';
import { ManualClock } from '#libs/config';
import { PairwiseIds } from '#libs/identity';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp, testEnv } from './support/apps.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { MailCatcher } from './support/mail-catcher.js';
import { type RunningVault, startVault } from './support/vault-app.js';

const ZONE = 'America/Montreal';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A Montréal wall time as an instant. */
const montreal = (wall: string) => DateTime.fromISO(wall, { zone: ZONE }).toJSDate();
const wall = (at: Date | string) =>
  DateTime.fromJSDate(new Date(at), { zone: ZONE }).toFormat('yyyy-MM-dd HH:mm');
const minutesOfDay = (at: Date) => {
  const local = DateTime.fromJSDate(at, { zone: ZONE });
  return local.hour * 60 + local.minute;
};

/**
 * The whole way of a reminder: a service registers a deadline through the
 * broker, the scheduler's sweeper and workers send the 30-, 7- and 1-day
 * reminders to a real SMTP server as the (controllable) clock reaches them,
 * in the citizen's language and out of their quiet hours (21:00–08:00 in
 * Montréal, across the March change to daylight time); moving the due date
 * moves what is left, completing the deadline cancels it.
 */
describe('Reminders, from a service’s deadline to the citizen’s mailbox', () => {
  // Wednesday 17 February 2027, 07:00 in Montréal (EST, UTC−5).
  const clock = new ManualClock(montreal('2027-02-17T07:00'));
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let broker: RunningBroker;
  let vault: RunningVault;
  let scheduler: RunningApp;
  let mail: MailCatcher;
  let citizen: { Authorization: string };
  let saaq: { Authorization: string };
  let ramq: { Authorization: string };
  let ppid: { SAAQ: string; RAMQ: string };

  beforeAll(async () => {
    db = await createTestDatabase('remindersjourney');
    idp = await new TestIdentityProvider().start();
    mail = await new MailCatcher().start();
    broker = await startBroker(db, idp, {}, { clock });
    vault = await startVault('remindersjourney', { db, idp, clock });
    scheduler = await startApp(
      SchedulerAppModule.forRoot(
        testEnv(db, idp, {
          SMTP_URL: mail.url,
          MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
          REMINDER_SWEEP_SECONDS: '1',
        }),
        { clock },
      ),
    );
    // An English-speaking citizen with an e-mail address in the vault, e-mail only, default quiet hours.
    citizen = await vault.auth('olivia');
    await vault.http.get('/v1/me').set(citizen).expect(200);
    await vault.http
      .put('/v1/me/attributes/contact.email')
      .set(citizen)
      .send({ value: 'olivia@example.ca' })
      .expect(200);
    await vault.http
      .put('/v1/me/preferences')
      .set(citizen)
      .send({
        language: 'en',
        channels: { email: true, sms: false, portal: false },
        quietHours: { start: '21:00', end: '08:00' },
      })
      .expect(200);
    const [{ id: citizenId }] = await broker.dataSource.query(
      `SELECT id FROM citizen WHERE subject = 'olivia'`,
    );
    // Both organisations know the citizen (as after a consent), by their own pairwise ids.
    ppid = await broker.dataSource.transaction(async (em) => ({
      SAAQ: await broker.app.get(PairwiseIds).issue(em, 'SAAQ', citizenId),
      RAMQ: await broker.app.get(PairwiseIds).issue(em, 'RAMQ', citizenId),
    }));
    saaq = await broker.service('saaq-permis').auth();
    ramq = await broker.service('ramq-carte').auth();
  });

  afterAll(async () => {
    await scheduler?.close();
    await vault?.close();
    await broker?.close();
    await mail?.stop();
    await idp?.stop();
    await db?.drop();
  });

  interface CitizenReminder {
    id: string;
    offsetDays: number;
    sendAt: string;
    status: string;
    reason: string | null;
    sentAt: string | null;
  }
  const reminders = async (deadlineId: string): Promise<CitizenReminder[]> => {
    const { body } = await vault.http.get('/v1/me/deadlines').set(citizen).expect(200);
    const deadline = (body.deadlines as { id: string; reminders: CitizenReminder[] }[]).find(
      (d) => d.id === deadlineId,
    );
    return [...deadline!.reminders].sort((a, b) => a.sendAt.localeCompare(b.sendAt));
  };
  const scheduled = async (deadlineId: string) =>
    (await reminders(deadlineId)).filter((r) => r.status === 'scheduled');

  /** Moves the clock to `at`, then waits for `count` more e-mails (or checks none comes). */
  async function advanceTo(at: Date, expectMail: number): Promise<ParsedMail[]> {
    const before = mail.messages.length;
    clock.set(at);
    if (expectMail === 0) {
      await sleep(2500); // more than two sweep periods
      expect(mail.messages.length).toBe(before);
      return [];
    }
    await mail.waitFor(before + expectMail, 20_000);
    await sleep(300);
    expect(mail.messages.length).toBe(before + expectMail);
    return mail.messages.slice(before);
  }

  const messageIdOf = (reminderId: string) => `<${reminderId}@une-fois.quebec>`;
  let licence: string;
  let card: string;

  it('plans the reminders at the due time’s wall clock, moved out of quiet hours, across the change to daylight time', async () => {
    // Due 06:30 on 20 March (EDT, after the 14 March change): every reminder's time falls in quiet hours.
    const licenceDue = montreal('2027-03-20T06:30');
    ({
      body: { id: licence },
    } = await broker.http
      .post('/v1/deadlines')
      .set(saaq)
      .send({
        citizen: { ppid: ppid.SAAQ },
        kind: 'licence-renewal',
        dueAt: licenceDue.toISOString(),
        title: { fr: 'Renouveler votre permis de conduire', en: 'Renew your driver’s licence' },
        actionUrl: 'https://saaq.gouv.qc.ca/permis',
        externalRef: 'permit-T6123',
      })
      .expect(201));
    ({
      body: { id: card },
    } = await broker.http
      .post('/v1/deadlines')
      .set(ramq)
      .send({
        citizen: { ppid: ppid.RAMQ },
        kind: 'health-card-renewal',
        dueAt: montreal('2027-03-22T12:00').toISOString(),
        title: { fr: 'Renouveler votre carte d’assurance maladie', en: 'Renew your health insurance card' },
      })
      .expect(201));
    // 30 days ahead (and a little more): every offset is still to come.
    expect((await reminders(licence)).map((r) => [r.offsetDays, wall(r.sendAt), r.status])).toEqual([
      [30, '2027-02-18 08:00', 'scheduled'],
      [7, '2027-03-13 08:00', 'scheduled'],
      [1, '2027-03-19 08:00', 'scheduled'],
    ]);
    // 08:00 is 13:00 UTC before the change and 12:00 UTC after it.
    expect((await reminders(licence)).map((r) => r.sendAt)).toEqual([
      '2027-02-18T13:00:00.000Z',
      '2027-03-13T13:00:00.000Z',
      '2027-03-19T12:00:00.000Z',
    ]);
    expect((await reminders(card)).map((r) => [r.offsetDays, wall(r.sendAt)])).toEqual([
      [30, '2027-02-20 12:00'],
      [7, '2027-03-15 12:00'],
      [1, '2027-03-21 12:00'],
    ]);
  });

  it('sends nothing before its time, and nothing inside quiet hours', async () => {
    // The 30-day reminder's planned time, 06:30, is inside quiet hours: nothing leaves.
    await advanceTo(montreal('2027-02-18T06:30'), 0);
    await advanceTo(montreal('2027-02-18T07:59'), 0);
  });

  it('delivers the 30-day reminder when the quiet hours end, in the citizen’s language, with the deadline as an event', async () => {
    const [first] = await advanceTo(montreal('2027-02-18T08:00'), 1);
    const [thirty] = await reminders(licence);
    expect(thirty).toMatchObject({ offsetDays: 30, status: 'sent' });
    expect(first.messageId).toBe(messageIdOf(thirty.id));
    expect(first.to).toMatchObject({ text: 'olivia@example.ca' });
    expect(first.headers.get('content-language')).toBe('en');
    expect(first.subject).toMatch(/driver’s licence/i);
    expect(first.text).toContain('https://saaq.gouv.qc.ca/permis');
    expect(first.text).not.toMatch(/permis de conduire|Renouveler/);
    const ics = first.attachments.find((a) => a.contentType.startsWith('text/calendar'));
    const event = new ICAL.Event(
      new ICAL.Component(ICAL.parse(ics!.content.toString('utf8'))).getFirstSubcomponent('vevent')!,
    );
    expect(event.summary).toBe('Renew your driver’s licence');
    expect(event.startDate.toJSDate().toISOString()).toBe(montreal('2027-03-20T06:30').toISOString());
  });

  it('delivers the other deadline’s 30-day reminder at its own time', async () => {
    const [second] = await advanceTo(montreal('2027-02-20T12:00'), 1);
    const [thirty] = await reminders(card);
    expect(second.messageId).toBe(messageIdOf(thirty.id));
    expect(second.subject).toMatch(/health insurance card/i);
  });

  it('moving the due date moves the reminders still to come', async () => {
    const before = await scheduled(card);
    await broker.http
      .patch(`/v1/deadlines/${card}`)
      .set(ramq)
      .send({ dueAt: montreal('2027-03-29T12:00').toISOString() })
      .expect(200);
    const after = await reminders(card);
    // The sent one stays sent; the old 7- and 1-day ones are cancelled; a fresh set follows the new date.
    expect(
      after.filter((r) => before.some((b) => b.id === r.id)).map((r) => [r.offsetDays, r.status, r.reason]),
    ).toEqual([
      [7, 'cancelled', 'rescheduled'],
      [1, 'cancelled', 'rescheduled'],
    ]);
    expect((await scheduled(card)).map((r) => [r.offsetDays, wall(r.sendAt)])).toEqual([
      [30, '2027-02-27 12:00'],
      [7, '2027-03-22 12:00'],
      [1, '2027-03-28 12:00'],
    ]);
    expect(after.filter((r) => r.status === 'sent').map((r) => [r.offsetDays, wall(r.sendAt)])).toEqual([
      [30, '2027-02-20 12:00'],
    ]);
  });

  it('delivers the moved deadline’s new 30-day reminder', async () => {
    const [moved] = await advanceTo(montreal('2027-02-27T12:00'), 1);
    const thirty = (await reminders(card)).find((r) => wall(r.sendAt) === '2027-02-27 12:00')!;
    expect(thirty).toMatchObject({ offsetDays: 30, status: 'sent' });
    expect(moved.messageId).toBe(messageIdOf(thirty.id));
  });

  it('delivers the licence’s 7-day reminder before the change to daylight time', async () => {
    const [seven] = await advanceTo(montreal('2027-03-13T08:00'), 1);
    expect(seven.messageId).toBe(messageIdOf((await reminders(licence))[1].id));
  });

  it('sends nothing at the moved deadline’s old time', async () => {
    await advanceTo(montreal('2027-03-15T12:00'), 0);
  });

  it('delivers the licence’s 1-day reminder at 08:00 daylight time', async () => {
    await advanceTo(montreal('2027-03-19T07:59'), 0);
    const [one] = await advanceTo(montreal('2027-03-19T08:00'), 1);
    const licenceReminders = await reminders(licence);
    expect(one.messageId).toBe(messageIdOf(licenceReminders[2].id));
    expect(licenceReminders.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
  });

  it('delivers the moved deadline’s 7-day reminder at its new time, then completing it cancels what is left', async () => {
    const [seven] = await advanceTo(montreal('2027-03-22T12:00'), 1);
    const moved = await reminders(card);
    expect(seven.messageId).toBe(
      messageIdOf(moved.find((r) => r.offsetDays === 7 && r.status === 'sent')!.id),
    );
    await broker.http.patch(`/v1/deadlines/${card}`).set(ramq).send({ status: 'completed' }).expect(200);
    const last = (await reminders(card)).find((r) => wall(r.sendAt) === '2027-03-28 12:00');
    expect(last).toMatchObject({ offsetDays: 1, status: 'cancelled', reason: 'deadline completed' });
    await advanceTo(montreal('2027-03-28T12:00'), 0);
  });

  it('each e-mail is one reminder, once, and none left inside quiet hours', async () => {
    const ids = mail.messageIds();
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    const { body } = await vault.http.get('/v1/me/deadlines').set(citizen).expect(200);
    const sent = (body.deadlines as { reminders: CitizenReminder[] }[])
      .flatMap((d) => d.reminders)
      .filter((r) => r.status === 'sent');
    expect(sent).toHaveLength(6);
    for (const reminder of sent) {
      const minutes = minutesOfDay(new Date(reminder.sentAt!));
      expect(minutes >= 8 * 60 && minutes < 21 * 60).toBe(true);
      expect(ids).toContain(messageIdOf(reminder.id));
    }
  });
});
