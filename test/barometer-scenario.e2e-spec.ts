import { DateTime } from 'luxon';
import { ManualClock, montrealDay } from '#libs/config';
import { PairwiseIds } from '#libs/identity';
import { runCli } from '../apps/cli/src/commands.js';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { type RunningApp, startApp, testEnv } from './support/apps.js';
import { startBarometer } from './support/barometer.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { MailCatcher } from './support/mail-catcher.js';
import { reminderCitizen } from './support/reminders.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { type RunningVault, startVault } from './support/vault-app.js';

const montreal = (wall: string) => DateTime.fromISO(wall, { zone: 'America/Montreal' }).toJSDate();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result) return result;
    if (Date.now() > end) throw new Error(`${what}: not reached in time`);
    await sleep(100);
  }
}

interface Platform {
  clock: ManualClock;
  db: TestDatabase;
  idp: TestIdentityProvider;
  mail: MailCatcher;
  vault: RunningVault;
  broker: RunningBroker;
  barometer: RunningApp;
  /** Between the scheduler and the barometer: `cut` is the barometer down. */
  proxy: TcpProxy;
  scheduler: RunningApp;
  close(): Promise<void>;
}

/** The platform and a barometer, every app on one controllable clock. */
async function startPlatform(label: string): Promise<Platform> {
  // Wednesday 10 March 2027, noon in Montréal (EST).
  const clock = new ManualClock(montreal('2027-03-10T12:00'));
  const db = await createTestDatabase(label);
  const idp = await new TestIdentityProvider().start();
  const mail = await new MailCatcher().start();
  const broker = await startBroker(db, idp, {}, { clock });
  const vault = await startVault(label, { db, idp, clock });
  const barometer = await startBarometer(db, `${broker.url}/.well-known/jwks.json`, {}, { clock });
  const proxy = await TcpProxy.to(barometer.url).start();
  const scheduler = await startApp(
    SchedulerAppModule.forRoot(
      testEnv(db, idp, {
        SMTP_URL: mail.url,
        MAIL_FROM: 'Une fois <rappels@une-fois.quebec>',
        BAROMETER_URL: proxy.url(barometer.url),
        REMINDER_SWEEP_SECONDS: '1',
        OUTBOX_POLL_MILLISECONDS: '200',
        WEBHOOK_TIMEOUT_SECONDS: '2',
        RELEASE_SUMMARY_SECONDS: '1',
      }),
      { clock },
    ),
  );
  return {
    clock,
    db,
    idp,
    mail,
    vault,
    broker,
    barometer,
    proxy,
    scheduler,
    close: async () => {
      await scheduler.close();
      await proxy.stop();
      await barometer.close();
      await vault.close();
      await broker.close();
      await mail.stop();
      await idp.stop();
      await db.drop();
    },
  };
}

const pendingMetrics = async (p: Platform) =>
  Number(
    (
      await p.broker.dataSource.query(
        `SELECT count(*) FROM outbox_event WHERE topic = 'metric' AND status = 'pending'`,
      )
    )[0].count,
  );

/** Every metric event the platform wrote has reached the barometer. */
const allDelivered = (p: Platform) =>
  until('every metric event delivered', async () => (await pendingMetrics(p)) === 0, 90_000);

const reminderStatuses = async (p: Platform, deadline: string): Promise<string[]> =>
  (
    await p.broker.dataSource.query(`SELECT status FROM reminder WHERE deadline_id = $1 ORDER BY send_at`, [
      deadline,
    ])
  ).map((row: { status: string }) => row.status);

/**
 * The scenario, through the broker and the scheduler: four services of four
 * organisations, two citizens, releases on a legal basis, collections with
 * and without a re-ask, five deadlines (one reminded in time, one reminded
 * late, one whose reminder is suppressed, one cancelled, one moved into the
 * next month and reminded there in time). `during` runs between the steps:
 * the outage run cuts the barometer off there.
 */
async function runScenario(p: Platform, during: (step: string) => Promise<void> = async () => undefined) {
  const { broker, vault, clock } = p;
  const alice = await reminderCitizen(
    vault,
    'alice',
    { email: 'alice@example.ca' },
    {
      language: 'fr',
      channels: { email: true, sms: false, portal: false },
    },
  );
  // Bruno has no contact details: his reminders have no channel and are suppressed.
  const bruno = await reminderCitizen(
    vault,
    'bruno',
    {},
    {
      language: 'en',
      channels: { email: true, sms: false, portal: false },
    },
  );
  const ppid = (org: string, citizen: string) =>
    broker.dataSource.transaction((em) => broker.app.get(PairwiseIds).issue(em, org, citizen));
  const citizen = async (org: string, id: string) => ({ ppid: await ppid(org, id) });
  const auth = Object.fromEntries(
    await Promise.all(
      ['saaq-adresse', 'saaq-permis', 'ramq-carte', 'rq-credits', 'mess-aide'].map(
        async (service) => [service, await broker.service(service).auth()] as const,
      ),
    ),
  );
  await during('start');

  // Day 1. SAAQ records both addresses; Revenu Québec's tax credits fetch them on a legal basis.
  for (const who of [alice, bruno]) {
    await broker.http
      .put(`/v1/citizens/${(await citizen('SAAQ', who)).ppid}/attributes/address.residential`)
      .set(auth['saaq-adresse'])
      .send({ value: { line1: '1 rue des Érables', city: 'Québec', province: 'QC', postalCode: 'G1R 1A1' } })
      .expect(200);
    const fetched = await broker.http
      .post('/v1/data-requests')
      .set(auth['rq-credits'])
      .send({ citizen: await citizen('RQ', who), purpose: 'tax-credit', attributes: ['address.residential'] })
      .expect(200);
    expect(fetched.body.released.map((r: { attribute: string }) => r.attribute)).toEqual([
      'address.residential',
    ]);
  }
  // SAAQ's licence service asks Alice for her address again: a re-ask. RAMQ and MESS ask what nobody holds.
  const collect = async (service: string, org: string, attributes: string[]) =>
    (
      await broker.http
        .post('/v1/collections')
        .set(auth[service])
        .send({ citizen: await citizen(org, alice), attributes })
        .expect(200)
    ).body;
  // The answers tell a service no more than a data request would (no consent here: `undisclosed`);
  // the report behind them counts the re-ask all the same.
  expect(await collect('saaq-permis', 'SAAQ', ['address.residential'])).toEqual({
    reAsked: [],
    firstTime: [],
    undisclosed: ['address.residential'],
  });
  expect(await collect('ramq-carte', 'RAMQ', ['health.insurance_number'])).toEqual({
    reAsked: [],
    firstTime: ['health.insurance_number'],
    undisclosed: [],
  });
  expect(await collect('mess-aide', 'MESS', ['contact.phone'])).toEqual({
    reAsked: [],
    firstTime: [],
    undisclosed: ['contact.phone'],
  });

  const register = async (service: string, org: string, who: string, kind: string, dueAt: string) =>
    (
      await broker.http
        .post('/v1/deadlines')
        .set(auth[service])
        .send({
          citizen: await citizen(org, who),
          kind,
          dueAt: montreal(dueAt).toISOString(),
          title: { fr: `Échéance ${kind}`, en: `Deadline ${kind}` },
        })
        .expect(201)
    ).body.id as string;
  // Only the 1-day offsets are ahead: 30 and 7 days before are past, skipped.
  const inTime = await register('ramq-carte', 'RAMQ', alice, 'health-card-renewal', '2027-03-12T12:00');
  const late = await register('saaq-permis', 'SAAQ', alice, 'licence-renewal', '2027-03-11T12:30');
  const suppressed = await register('saaq-permis', 'SAAQ', bruno, 'licence-renewal', '2027-03-12T12:00');
  const cancelled = await register('ramq-carte', 'RAMQ', alice, 'health-card-renewal', '2027-03-12T18:00');
  const moved = await register('rq-credits', 'RQ', alice, 'tax-filing', '2027-03-12T12:00');
  await broker.http
    .patch(`/v1/deadlines/${cancelled}`)
    .set(auth['ramq-carte'])
    .send({ status: 'cancelled' })
    .expect(200);
  // Moved into April: its 7-day reminder falls on 26 March, its 1-day one on 1 April.
  await broker.http
    .patch(`/v1/deadlines/${moved}`)
    .set(auth['rq-credits'])
    .send({ dueAt: montreal('2027-04-02T12:00').toISOString() })
    .expect(200);
  await during('day 1 written');

  // Day 2, 13:00: the scheduler was not there at 12:30 for the licence, whose reminder leaves after its due time.
  clock.set(montreal('2027-03-11T13:00'));
  await until('day 2 reminders settled', async () => {
    const statuses = [
      ...(await reminderStatuses(p, inTime)),
      ...(await reminderStatuses(p, late)),
      ...(await reminderStatuses(p, suppressed)),
    ];
    return statuses.every((s) => !['scheduled', 'queued'].includes(s)) ? statuses : null;
  });
  expect((await reminderStatuses(p, inTime)).slice(-1)).toEqual(['sent']);
  expect((await reminderStatuses(p, late)).slice(-1)).toEqual(['sent']);
  expect((await reminderStatuses(p, suppressed)).slice(-1)).toEqual(['suppressed']);
  await during('day 2 reminders sent');

  // Past every March due date; then 26 March, the moved deadline's 7-day reminder; then past 2 April.
  clock.set(montreal('2027-03-13T12:00'));
  clock.set(montreal('2027-03-26T13:00'));
  await until('the 7-day reminder of the moved deadline', async () =>
    (await reminderStatuses(p, moved)).includes('sent'),
  );
  clock.set(montreal('2027-04-03T12:00'));
  await until('the moved deadline’s last reminder settled', async () =>
    (await reminderStatuses(p, moved)).every((s) => !['scheduled', 'queued'].includes(s)),
  );
  // The releases of 10 March are counted once the day is over.
  await until(
    'the releases of 10 March counted',
    async () =>
      Number(
        (
          await broker.dataSource.query(`SELECT count(*) FROM outbox_event WHERE type = 'service.releases'`)
        )[0].count,
      ) > 0,
  );
  await during('end');
  await allDelivered(p);
}

const I2 = { indicator: 'I2', service: null, period: 'month', start: '2027-03-01', target: 0.5 };
const I3 = { indicator: 'I3', service: null, period: 'month', target: 0.6 };

/**
 * By hand. Active in March: rq-credits (released Alice's and Bruno's
 * addresses on a legal basis, re-asked nothing), saaq-permis (re-asked an
 * address the administration held), ramq-carte and mess-aide (asked what
 * nobody held): 3 of 4 re-asked nothing; 2 values released, 1 re-asked.
 * Fallen due in March: the health card reminded in time, the licence
 * reminded after its due time, Bruno's licence whose reminder was
 * suppressed; the cancelled one is out, the moved one falls due in April,
 * reminded on 26 March.
 */
const EXPECTED_MONTHS = [
  {
    ...I2,
    organisation: null,
    numerator: 3,
    denominator: 4,
    value: 0.75,
    released: 2,
    reAsked: 1,
    reuseRate: 2 / 3,
  },
  {
    ...I2,
    organisation: 'MESS',
    numerator: 1,
    denominator: 1,
    value: 1,
    released: 0,
    reAsked: 0,
    reuseRate: null,
  },
  {
    ...I2,
    organisation: 'RAMQ',
    numerator: 1,
    denominator: 1,
    value: 1,
    released: 0,
    reAsked: 0,
    reuseRate: null,
  },
  {
    ...I2,
    organisation: 'RQ',
    numerator: 1,
    denominator: 1,
    value: 1,
    released: 2,
    reAsked: 0,
    reuseRate: 1,
  },
  {
    ...I2,
    organisation: 'SAAQ',
    numerator: 0,
    denominator: 1,
    value: 0,
    released: 0,
    reAsked: 1,
    reuseRate: 0,
  },
  { ...I3, organisation: null, start: '2027-03-01', numerator: 1, denominator: 3, value: 1 / 3 },
  { ...I3, organisation: null, start: '2027-04-01', numerator: 1, denominator: 1, value: 1 },
  { ...I3, organisation: 'RAMQ', start: '2027-03-01', numerator: 1, denominator: 1, value: 1 },
  { ...I3, organisation: 'RQ', start: '2027-04-01', numerator: 1, denominator: 1, value: 1 },
  { ...I3, organisation: 'SAAQ', start: '2027-03-01', numerator: 0, denominator: 2, value: 0 },
];

/** The CSV's rows as objects of strings, its header naming the fields. */
function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\r\n');
  const columns = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i], value])));
}

const asCsv = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).map(([key, value]) => [key, value === null ? '' : String(value)]));

/** The events the barometer was sent and already held, from its /metrics. */
async function receivedDuplicates(p: Platform): Promise<number> {
  const { text } = await p.barometer.http.get('/metrics').expect(200);
  return Number(/^metric_events_received_total\{result="duplicate"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function indicators(p: Platform, query: string) {
  const { body } = await p.barometer.http.get(`/v1/indicators?${query}`).expect(200);
  return body.indicators as Record<string, unknown>[];
}

/** The indicators of the run without an outage, per day and per month, for the run with one. */
const withoutOutage: Record<string, unknown> = {};

describe('Barometer: a scripted scenario through the broker and the scheduler', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform('baroscenario');
    await runScenario(p);
  }, 240_000);
  afterAll(async () => {
    for (const period of ['day', 'month']) withoutOutage[period] = await indicators(p, `period=${period}`);
    await p?.close();
  });

  it('the indicators per organisation and month equal those computed by hand, in JSON and CSV', async () => {
    expect(await indicators(p, 'period=month')).toEqual(EXPECTED_MONTHS);
    const csv = await p.barometer.http.get('/v1/indicators?period=month&format=csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers.link).toBe('</v1/indicators/definitions>; rel="describedby"');
    const expectedCsv = EXPECTED_MONTHS.map((row) =>
      asCsv({ released: null, reAsked: null, reuseRate: null, ...row }),
    );
    expect(parseCsv(csv.text)).toEqual(expectedCsv);
  });

  it('per day: each deadline in the day it fell due', async () => {
    const days = (await indicators(p, 'period=day')).filter((row) => row.indicator === 'I3');
    expect(days.map((row) => [row.organisation, row.start, row.numerator, row.denominator])).toEqual([
      [null, '2027-03-11', 0, 1],
      [null, '2027-03-12', 1, 2],
      [null, '2027-04-02', 1, 1],
      ['RAMQ', '2027-03-12', 1, 1],
      ['RQ', '2027-04-02', 1, 1],
      ['SAAQ', '2027-03-11', 0, 1],
      ['SAAQ', '2027-03-12', 0, 1],
    ]);
  });

  it('for one organisation, and for one service', async () => {
    expect(await indicators(p, 'period=month&organisation=SAAQ')).toEqual(
      EXPECTED_MONTHS.filter((row) => row.organisation === 'SAAQ'),
    );
    expect(await indicators(p, 'period=year&service=saaq-permis')).toEqual([
      {
        ...I2,
        period: 'year',
        start: '2027-01-01',
        organisation: 'SAAQ',
        service: 'saaq-permis',
        numerator: 0,
        denominator: 1,
        value: 0,
        released: 0,
        reAsked: 1,
        reuseRate: 0,
      },
      {
        ...I3,
        period: 'year',
        start: '2027-01-01',
        organisation: 'SAAQ',
        service: 'saaq-permis',
        numerator: 0,
        denominator: 2,
        value: 0,
      },
    ]);
  });

  it('holds each event the platform wrote once, by id', async () => {
    const sent: { id: string }[] = await p.broker.dataSource.query(
      `SELECT id FROM outbox_event WHERE topic = 'metric' ORDER BY id`,
    );
    const held: { id: string }[] = await p.broker.dataSource.query(
      `SELECT id FROM barometer.event ORDER BY id`,
    );
    expect(held).toEqual(sent);
  });

  it('refuses a period it does not know, with a problem', async () => {
    const response = await p.barometer.http.get('/v1/indicators?period=week').expect(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('sends the days asked again on metrics:resend: a barometer gets back what it lost, and stores nothing twice', async () => {
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const code = await runCli(
        ['metrics:resend', ...args],
        { NODE_ENV: 'test', DATABASE_URL: p.db.url },
        { out: (line) => out.push(line), err: (line) => out.push(line) },
      );
      return { code, out: out.join('\n') };
    };
    expect(await cli('--from', '2027-02-30', '--to', '2027-03-31')).toMatchObject({ code: 2 });
    expect(await cli('--from', '2027-03-31', '--to', '2027-03-01')).toMatchObject({ code: 2 });
    expect(await cli('--from', '2027-03-01')).toMatchObject({ code: 2 });

    const held = async () =>
      (await p.broker.dataSource.query(`SELECT id FROM barometer.event ORDER BY id`)) as { id: string }[];
    const all = await held();
    // The barometer restored from a backup taken before the reminders: it lost their events.
    const lost: { id: string }[] = await p.broker.dataSource.query(
      `WITH lost AS (DELETE FROM barometer.event WHERE type LIKE 'reminder.%' RETURNING id) SELECT id FROM lost`,
    );
    expect(lost.length).toBeGreaterThan(0);
    const duplicatesBefore = await receivedDuplicates(p);
    // The events were written at the database's time, whatever the scenario's clock said.
    const now = new Date();
    const resent = await cli(
      '--from',
      montrealDay(new Date(now.getTime() - 86_400_000)),
      '--to',
      montrealDay(now),
    );
    expect(resent).toMatchObject({ code: 0, out: expect.stringContaining(`${all.length} metric events`) });
    await allDelivered(p);
    expect(await held()).toEqual(all);
    expect(await receivedDuplicates(p)).toBe(duplicatesBefore + all.length - lost.length);
    expect(await indicators(p, 'period=month')).toEqual(EXPECTED_MONTHS);
  });
});

describe('Barometer fault: down for part of the scenario', () => {
  let p: Platform;
  let attemptsWhileDown = 0;
  beforeAll(async () => {
    p = await startPlatform('barooutage');
    await runScenario(p, async (step) => {
      if (step === 'start') await p.proxy.cut();
      if (step === 'day 2 reminders sent') {
        // Events waited, tried and refused at the door, for the whole of days 1 and 2.
        const [row] = await p.broker.dataSource.query(
          `SELECT count(*) FILTER (WHERE attempts > 0)::int AS tried, count(*)::int AS pending
           FROM outbox_event WHERE topic = 'metric' AND status = 'pending'`,
        );
        attemptsWhileDown = row.tried;
        expect(row.pending).toBeGreaterThan(10);
        expect(
          Number((await p.broker.dataSource.query(`SELECT count(*) FROM barometer.event`))[0].count),
        ).toBe(0);
        await p.proxy.restore();
      }
    });
  }, 300_000);
  afterAll(async () => {
    await p?.close();
  });

  it('loses nothing: every event arrives, counted once, and the indicators are those of the run without the outage', async () => {
    expect(attemptsWhileDown).toBeGreaterThan(0);
    const sent: { id: string }[] = await p.broker.dataSource.query(
      `SELECT id FROM outbox_event WHERE topic = 'metric' ORDER BY id`,
    );
    const held: { id: string }[] = await p.broker.dataSource.query(
      `SELECT id FROM barometer.event ORDER BY id`,
    );
    expect(held).toEqual(sent);
    expect(await indicators(p, 'period=month')).toEqual(EXPECTED_MONTHS);
    expect(await indicators(p, 'period=month')).toEqual(withoutOutage.month);
    expect(await indicators(p, 'period=day')).toEqual(withoutOutage.day);
  });
});
