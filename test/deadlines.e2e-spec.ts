import { createHash, randomUUID } from 'node:crypto';
import ICAL from 'ical.js';
import { DateTime } from 'luxon';
import { ManualClock } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { PairwiseIds } from '#libs/identity';
import { CollectionReports } from '#libs/metrics';
import { DeadlinesService } from '#libs/reminders';
import { seedDemo } from '../apps/cli/src/demo-seed.js';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { metricEventsPassSchema } from './support/metric-events.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault } from './support/vault-app.js';

const ZONE = 'America/Montreal';
/** 08:00 in Montréal, 1 June 2026. */
const START = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;

interface ReminderRow {
  id: string;
  offset_days: number;
  status: string;
  reason: string | null;
  planned_at: Date;
  send_at: Date;
  cancelled_at: Date | null;
}

const localWall = (at: Date) => DateTime.fromJSDate(at, { zone: ZONE }).toFormat('yyyy-MM-dd HH:mm');
const localMinutes = (at: Date) => {
  const t = DateTime.fromJSDate(at, { zone: ZONE });
  return t.hour * 60 + t.minute;
};
/** Outside the default quiet hours, 21:00–08:00. */
const outOfDefaultQuietHours = (at: Date) => localMinutes(at) >= 8 * 60 && localMinutes(at) < 21 * 60;

describe('Deadlines and their reminders', () => {
  const clock = new ManualClock(START);
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let broker: RunningBroker;
  let vault: RunningVault;
  let citizenId: string;
  let ppid: { SAAQ: string; RAMQ: string; RQ: string };
  let saaq: { Authorization: string };
  let ramq: { Authorization: string };
  let citizen: { Authorization: string };

  beforeAll(async () => {
    db = await createTestDatabase('deadlines');
    idp = await new TestIdentityProvider().start();
    broker = await startBroker(db, idp, {}, { clock });
    vault = await startVault('deadlines', { db, idp, clock });
    citizen = await vault.auth('alice');
    await vault.http.get('/v1/me').set(citizen).expect(200);
    [{ id: citizenId }] = await broker.dataSource.query('SELECT id FROM citizen WHERE subject = $1', [
      'alice',
    ]);
    ppid = await broker.dataSource.transaction(async (em) => {
      const pairwise = broker.app.get(PairwiseIds);
      return {
        SAAQ: await pairwise.issue(em, 'SAAQ', citizenId),
        RAMQ: await pairwise.issue(em, 'RAMQ', citizenId),
        RQ: await pairwise.issue(em, 'RQ', citizenId),
      };
    });
    saaq = await broker.service('saaq-permis').auth();
    ramq = await broker.service('ramq-carte').auth();
  });
  afterAll(async () => {
    await vault?.close();
    await broker?.close();
    await idp.stop();
    await db.drop();
  });

  const query = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
    broker.dataSource.query(sql, params);
  const remindersOf = (deadlineId: string) =>
    query<ReminderRow>(
      `SELECT id, offset_days, status, reason, planned_at, send_at, cancelled_at FROM reminder
       WHERE deadline_id = $1 ORDER BY created_at, offset_days DESC`,
      [deadlineId],
    );
  const counts = async () =>
    (
      await query<{ deadlines: number; reminders: number }>(
        `SELECT (SELECT count(*) FROM deadline)::int AS deadlines, (SELECT count(*) FROM reminder)::int AS reminders`,
      )
    )[0];
  const licence = (extra: Record<string, unknown> = {}) => ({
    citizen: { ppid: ppid.SAAQ },
    kind: 'licence-renewal',
    dueAt: '2026-07-01T10:00:00-04:00',
    title: { fr: 'Renouveler votre permis', en: 'Renew your licence' },
    actionUrl: 'https://saaq.example/renouveler',
    ...extra,
  });
  const post = (body: unknown, auth = saaq) =>
    broker.http
      .post('/v1/deadlines')
      .set(auth)
      .send(body as object);
  const patch = (id: string, body: unknown, auth = saaq) =>
    broker.http
      .patch(`/v1/deadlines/${id}`)
      .set(auth)
      .send(body as object);

  describe('registered by a service', () => {
    it('plans the 30-, 7- and 1-day reminders at the due wall time, out of quiet hours', async () => {
      const response = await post(licence({ externalRef: 'permit-1' })).expect(201);
      // The service sees its deadline, nothing of the citizen's reminders (their times reveal quiet hours).
      expect(response.body).toEqual({
        id: expect.any(String),
        kind: 'licence-renewal',
        status: 'open',
        dueAt: '2026-07-01T14:00:00.000Z',
        title: { fr: 'Renouveler votre permis', en: 'Renew your licence' },
        actionUrl: 'https://saaq.example/renouveler',
        externalRef: 'permit-1',
        closedAt: null,
      });
      const rows = await remindersOf(response.body.id);
      expect(rows.map((r) => [r.offset_days, r.status, localWall(r.send_at)])).toEqual([
        [30, 'scheduled', '2026-06-01 10:00'],
        [7, 'scheduled', '2026-06-24 10:00'],
        [1, 'scheduled', '2026-06-30 10:00'],
      ]);
      const [deadline] = await query<{ citizen_id: string; organisation_id: string; title: object }>(
        'SELECT citizen_id, organisation_id, title, created_at, updated_at FROM deadline WHERE id = $1',
        [response.body.id],
      );
      expect(deadline).toEqual({
        citizen_id: citizenId,
        organisation_id: 'SAAQ',
        title: { fr: 'Renouveler votre permis', en: 'Renew your licence' },
        // Times come from the Clock, as for a move or a close.
        created_at: START,
        updated_at: START,
      });
    });

    it('moves a reminder that falls in quiet hours to their end, never after the due time', async () => {
      const response = await post(
        licence({ dueAt: '2026-07-01T23:30:00-04:00', externalRef: 'permit-late' }),
      ).expect(201);
      const rows = await remindersOf(response.body.id);
      expect(rows.map((r) => [r.offset_days, localWall(r.planned_at), localWall(r.send_at)])).toEqual([
        [30, '2026-06-01 23:30', '2026-06-02 08:00'],
        [7, '2026-06-24 23:30', '2026-06-25 08:00'],
        [1, '2026-06-30 23:30', '2026-07-01 08:00'],
      ]);
      for (const row of rows) expect(outOfDefaultQuietHours(row.send_at)).toBe(true);
    });

    it('skips an offset already past when registered, with the reason', async () => {
      const response = await post(
        licence({ dueAt: '2026-06-04T10:00:00-04:00', externalRef: 'permit-soon' }),
      ).expect(201);
      const rows = await remindersOf(response.body.id);
      expect(rows.map((r) => [r.offset_days, r.status, r.reason])).toEqual([
        [30, 'skipped', expect.stringContaining('already past')],
        [7, 'skipped', expect.stringContaining('already past')],
        [1, 'scheduled', null],
      ]);
    });

    it('answers the same deadline to the same externalRef, and moves it on a new dueAt', async () => {
      const first = await post(licence({ externalRef: 'permit-replay' })).expect(201);
      const again = await post(licence({ externalRef: 'permit-replay' })).expect(201);
      expect(again.body.id).toBe(first.body.id);
      expect(await remindersOf(first.body.id)).toHaveLength(3);

      clock.advance(60_000);
      let moved;
      try {
        moved = await post(
          licence({ externalRef: 'permit-replay', dueAt: '2026-08-01T10:00:00-04:00' }),
        ).expect(201);
      } finally {
        clock.set(START);
      }
      expect(moved.body).toMatchObject({ id: first.body.id, dueAt: '2026-08-01T14:00:00.000Z' });
      const [row] = await query<{ updated_at: Date }>('SELECT updated_at FROM deadline WHERE id = $1', [
        first.body.id,
      ]);
      expect(row.updated_at).toEqual(new Date(START.getTime() + 60_000));
      const rows = await remindersOf(first.body.id);
      expect(rows.map((r) => [r.offset_days, r.status, r.reason])).toEqual([
        [30, 'cancelled', 'rescheduled'],
        [7, 'cancelled', 'rescheduled'],
        [1, 'cancelled', 'rescheduled'],
        [30, 'scheduled', null],
        [7, 'scheduled', null],
        [1, 'scheduled', null],
      ]);
      expect(rows.slice(3).map((r) => localWall(r.send_at))).toEqual([
        '2026-07-02 10:00',
        '2026-07-25 10:00',
        '2026-07-31 10:00',
      ]);
    });

    it('takes a new title and actionUrl on a replay, in the same transaction, without touching the reminders', async () => {
      const first = await post(licence({ externalRef: 'permit-retitled' })).expect(201);
      const reminders = await remindersOf(first.body.id);
      const again = await post(
        licence({
          externalRef: 'permit-retitled',
          title: { fr: 'Renouveler votre permis de conduire', en: 'Renew your driver’s licence' },
          actionUrl: 'https://saaq.example/permis',
        }),
      ).expect(201);
      expect(again.body).toMatchObject({
        id: first.body.id,
        title: { fr: 'Renouveler votre permis de conduire', en: 'Renew your driver’s licence' },
        actionUrl: 'https://saaq.example/permis',
      });
      const [row] = await query<{ title: object }>('SELECT title, action_url FROM deadline WHERE id = $1', [
        first.body.id,
      ]);
      expect(row).toEqual({
        title: { fr: 'Renouveler votre permis de conduire', en: 'Renew your driver’s licence' },
        action_url: 'https://saaq.example/permis',
      });
      expect(await remindersOf(first.body.id)).toEqual(reminders);
      // A replay refused (moving a closed deadline) changes no title either: one transaction.
      await patch(first.body.id, { status: 'completed' }).expect(200);
      const refused = await post(
        licence({
          externalRef: 'permit-retitled',
          title: { fr: 'Autre titre' },
          dueAt: '2026-09-01T10:00:00-04:00',
        }),
      ).expect(409);
      expect(refused.body.code).toBe('deadline_closed');
      const [after] = await query('SELECT title FROM deadline WHERE id = $1', [first.body.id]);
      expect(after).toEqual({ title: row.title });
    });

    it('creates one deadline from a concurrent double POST', async () => {
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => post(licence({ externalRef: 'permit-race' }))),
      );
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      const rows = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deadline WHERE service_id = 'saaq-permis' AND external_ref = 'permit-race'`,
      );
      expect(rows[0].n).toBe(1);
      expect(await remindersOf(responses[0].body.id)).toHaveLength(3);
    });

    /** Its live reminders are one set planned for its current due time (none once closed). */
    const expectConsistent = async (id: string) => {
      const [deadline] = await query<{ status: string; due_at: Date }>(
        'SELECT status, due_at FROM deadline WHERE id = $1',
        [id],
      );
      const live = (await remindersOf(id)).filter((r) => r.status === 'scheduled');
      if (deadline.status !== 'open') return expect(live).toEqual([]);
      expect(live.map((r) => r.offset_days)).toEqual([30, 7, 1]);
      for (const r of live)
        expect(
          DateTime.fromJSDate(r.planned_at, { zone: ZONE }).plus({ days: r.offset_days }).toJSDate(),
        ).toEqual(deadline.due_at);
    };

    it('settles two POSTs of a new externalRef racing with different due times: one deadline, one set of reminders', async () => {
      const [a, b] = await Promise.all([
        post(licence({ externalRef: 'permit-race-2', dueAt: '2026-07-01T10:00:00-04:00' })),
        post(licence({ externalRef: 'permit-race-2', dueAt: '2026-07-20T10:00:00-04:00' })),
      ]);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.id).toBe(b.body.id);
      const [{ n }] = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deadline WHERE service_id = 'saaq-permis' AND external_ref = 'permit-race-2'`,
      );
      expect(n).toBe(1);
      await expectConsistent(a.body.id);
    });

    it.each([
      ['a move', 'move', { dueAt: '2026-07-25T10:00:00-04:00' }],
      ['a completion', 'close', { status: 'completed' }],
    ])('settles a replay racing %s: one deadline, consistent reminders', async (_case, tag, change) => {
      const ref = `permit-replay-race-${tag}`;
      const { body } = await post(licence({ externalRef: ref })).expect(201);
      for (let round = 0; round < 3; round++) {
        const [replay, patched] = await Promise.all([
          post(licence({ externalRef: ref, dueAt: `2026-07-1${round}T10:00:00-04:00` })),
          patch(body.id, change),
        ]);
        expect(patched.status).toBe(200);
        // The replay came first or after the move (201), or found the deadline completed (409): never a 500.
        expect([201, 409]).toContain(replay.status);
        await expectConsistent(body.id);
      }
      const [{ n }] = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deadline WHERE service_id = 'saaq-permis' AND external_ref = $1`,
        [ref],
      );
      expect(n).toBe(1);
    });

    it('moves a deadline on PATCH {dueAt}: pending reminders cancelled, a fresh set planned, sent ones kept', async () => {
      const { body } = await post(licence()).expect(201);
      const [thirty] = await remindersOf(body.id);
      // As the delivery would record it.
      await query(`UPDATE reminder SET status = 'sent', sent_at = $2 WHERE id = $1`, [thirty.id, START]);
      const moved = await patch(body.id, { dueAt: '2026-07-15T10:00:00-04:00' }).expect(200);
      expect(moved.body).toMatchObject({ id: body.id, status: 'open', dueAt: '2026-07-15T14:00:00.000Z' });
      const rows = await remindersOf(body.id);
      expect(rows.map((r) => [r.offset_days, r.status, r.reason])).toEqual([
        [30, 'sent', null],
        [7, 'cancelled', 'rescheduled'],
        [1, 'cancelled', 'rescheduled'],
        [30, 'scheduled', null],
        [7, 'scheduled', null],
        [1, 'scheduled', null],
      ]);
      expect(rows[1].cancelled_at).toEqual(START);
    });

    it.each([
      ['completed', 'deadline completed'],
      ['cancelled', 'deadline cancelled'],
    ])(
      'closes a deadline as %s: what is left is cancelled, and it cannot change again',
      async (status, reason) => {
        const { body } = await post(licence()).expect(201);
        clock.advance(DAY);
        try {
          const closed = await patch(body.id, { status }).expect(200);
          expect(closed.body).toMatchObject({
            status,
            closedAt: new Date(START.getTime() + DAY).toISOString(),
          });
          const rows = await remindersOf(body.id);
          expect(rows.map((r) => [r.status, r.reason])).toEqual([
            ['cancelled', reason],
            ['cancelled', reason],
            ['cancelled', reason],
          ]);
          // Asking again for the same status is answered as done.
          const again = await patch(body.id, { status }).expect(200);
          expect(again.body).toEqual(closed.body);
          for (const other of [
            { status: status === 'completed' ? 'cancelled' : 'completed' },
            { dueAt: '2026-09-01T10:00:00Z' },
          ]) {
            const refused = await patch(body.id, other).expect(409);
            expect(refused.body.code).toBe('deadline_closed');
          }
          expect(await remindersOf(body.id)).toHaveLength(3);
        } finally {
          clock.set(START);
        }
      },
    );

    it('a PATCH to the dueAt it already has changes nothing: no reminder cancelled', async () => {
      const { body } = await post(licence()).expect(201);
      const before = await remindersOf(body.id);
      const same = await patch(body.id, { dueAt: '2026-07-01T14:00:00Z' }).expect(200);
      expect(same.body).toEqual(body);
      expect(await remindersOf(body.id)).toEqual(before);
    });
  });

  describe('bad input on /v1/deadlines: 4xx problem+json, nothing written', () => {
    let saaqDeadline: string;
    let otherCitizenPpid: string;
    beforeAll(async () => {
      saaqDeadline = (await post(licence({ externalRef: 'permit-taken' })).expect(201)).body.id;
      otherCitizenPpid = await broker.dataSource.transaction(async (em) => {
        const id = randomUUID();
        await em.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'test', $2)`, [id, id]);
        return broker.app.get(PairwiseIds).issue(em, 'SAAQ', id);
      });
    });

    const cases: [
      string,
      () => Promise<{ status: number; headers: Record<string, string>; body: { code: string } }>,
      number,
      string,
    ][] = [
      ['a past dueAt', () => post(licence({ dueAt: '2026-05-01T10:00:00-04:00' })), 400, 'invalid_due_date'],
      ['dueAt now', () => post(licence({ dueAt: START.toISOString() })), 400, 'invalid_due_date'],
      ['a malformed dueAt', () => post(licence({ dueAt: '2026-13-45T99:00:00Z' })), 400, 'validation_failed'],
      [
        'a dueAt on a day that does not exist',
        () => post(licence({ dueAt: '2026-02-30T10:00:00Z' })),
        400,
        'validation_failed',
      ],
      [
        'a dueAt without offset',
        () => post(licence({ dueAt: '2026-07-01T10:00:00' })),
        400,
        'validation_failed',
      ],
      ['a date without time', () => post(licence({ dueAt: '2026-07-01' })), 400, 'validation_failed'],
      ['an unknown kind', () => post(licence({ kind: 'passport-renewal' })), 400, 'unknown_deadline_kind'],
      [
        'a kind its registry entry does not list',
        () => post(licence({ kind: 'tax-filing' })),
        403,
        'forbidden',
      ],
      ['a missing French title', () => post(licence({ title: { en: 'Renew' } })), 400, 'validation_failed'],
      ['an empty French title', () => post(licence({ title: { fr: '' } })), 400, 'validation_failed'],
      [
        'an overlong title',
        () => post(licence({ title: { fr: 'x'.repeat(201) } })),
        400,
        'validation_failed',
      ],
      ['an unknown field', () => post(licence({ priority: 'high' })), 400, 'validation_failed'],
      [
        'an unknown field in title',
        () => post(licence({ title: { fr: 'a', de: 'b' } })),
        400,
        'validation_failed',
      ],
      ['a wrong type', () => post(licence({ kind: 42 })), 400, 'validation_failed'],
      [
        'an actionUrl that is no URL',
        () => post(licence({ actionUrl: 'javascript:alert(1)' })),
        400,
        'validation_failed',
      ],
      ['a missing citizen', () => post(licence({ citizen: undefined })), 400, 'validation_failed'],
      [
        'a ppid its organisation does not know',
        () => post(licence({ citizen: { ppid: ppid.RAMQ } })),
        404,
        'citizen_not_found',
      ],
      [
        'an externalRef already naming another citizen’s deadline',
        () => post(licence({ externalRef: 'permit-taken', citizen: { ppid: otherCitizenPpid } })),
        409,
        'deadline_ref_conflict',
      ],
      [
        'malformed JSON',
        () =>
          broker.http
            .post('/v1/deadlines')
            .set(saaq)
            .set('content-type', 'application/json')
            .send('{"kind":'),
        400,
        'malformed_json',
      ],
      [
        'an oversize body',
        () => post(licence({ externalRef: 'x'.repeat(300 * 1024) })),
        413,
        'payload_too_large',
      ],
      ['no token', () => broker.http.post('/v1/deadlines').send(licence()), 401, 'unauthenticated'],
      [
        'another service’s deadline on PATCH',
        () => patch(saaqDeadline, { status: 'completed' }, ramq),
        404,
        'deadline_not_found',
      ],
      [
        'an unknown deadline id on PATCH',
        () => patch(randomUUID(), { status: 'completed' }),
        404,
        'deadline_not_found',
      ],
      [
        'a malformed deadline id on PATCH',
        () => patch('not-a-uuid', { status: 'completed' }),
        400,
        'validation_failed',
      ],
      [
        'both status and dueAt on PATCH',
        () => patch(saaqDeadline, { status: 'completed', dueAt: '2026-09-01T10:00:00Z' }),
        400,
        'validation_failed',
      ],
      ['neither status nor dueAt on PATCH', () => patch(saaqDeadline, {}), 400, 'validation_failed'],
      ['a null status on PATCH', () => patch(saaqDeadline, { status: null }), 400, 'validation_failed'],
      ['a null dueAt on PATCH', () => patch(saaqDeadline, { dueAt: null }), 400, 'validation_failed'],
      [
        'a null status beside a dueAt on PATCH',
        () => patch(saaqDeadline, { status: null, dueAt: '2026-09-01T10:00:00Z' }),
        400,
        'validation_failed',
      ],
      [
        'a null dueAt beside a status on PATCH',
        () => patch(saaqDeadline, { status: 'completed', dueAt: null }),
        400,
        'validation_failed',
      ],
      ['a null dueAt on POST', () => post(licence({ dueAt: null })), 400, 'validation_failed'],
      ['an unknown status on PATCH', () => patch(saaqDeadline, { status: 'open' }), 400, 'validation_failed'],
      [
        'a past dueAt on PATCH',
        () => patch(saaqDeadline, { dueAt: '2026-05-01T10:00:00Z' }),
        400,
        'invalid_due_date',
      ],
    ];

    const deadlines = () =>
      query('SELECT id, due_at, status, title, action_url, updated_at FROM deadline ORDER BY id');
    const reminders = () => query('SELECT id, status, reason, send_at FROM reminder ORDER BY id');

    it.each(cases)('%s', async (_case, send, status, code) => {
      const before = await counts();
      const [deadlinesBefore, remindersBefore] = [await deadlines(), await reminders()];
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe(code);
      expect(await counts()).toEqual(before);
      expect(await deadlines()).toEqual(deadlinesBefore);
      expect(await reminders()).toEqual(remindersBefore);
    });

    it('refuses a citizen whose erasure went through while the registration waited for them, writing nothing', async () => {
      const erased = randomUUID();
      const erasedPpid = await broker.dataSource.transaction(async (em) => {
        await em.query(`INSERT INTO citizen (id, issuer, subject) VALUES ($1, 'test', $2)`, [erased, erased]);
        return broker.app.get(PairwiseIds).issue(em, 'SAAQ', erased);
      });
      const before = await counts();
      const response = await withClient(db.url, async (erasure) => {
        await erasure.query('BEGIN');
        await erasure.query('SELECT 1 FROM citizen WHERE id = $1 FOR NO KEY UPDATE', [erased]);
        const registering = post(
          licence({ citizen: { ppid: erasedPpid }, externalRef: 'permit-erased' }),
        ).then((r) => r);
        // The registration has resolved the identifier and waits for the citizen's row.
        for (let waited = 0; ; waited += 20) {
          const waiting = await query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          if (waiting.length > 0) break;
          if (waited > 5000) throw new Error('the registration never waited for the citizen');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await erasure.query('UPDATE citizen SET subject = NULL, erased_at = now() WHERE id = $1', [erased]);
        await erasure.query('DELETE FROM pairwise_id WHERE citizen_id = $1', [erased]);
        await erasure.query('COMMIT');
        return registering;
      });
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('citizen_not_found');
      expect(await counts()).toEqual(before);
    });
  });

  describe('from an expiring attribute', () => {
    const deadlineOf = async () =>
      query<{ id: string; kind: string; organisation_id: string; due_at: Date; title: object }>(
        `SELECT id, kind, organisation_id, due_at, title FROM deadline
         WHERE citizen_id = $1 AND source_attribute = 'health.card_expiry'`,
        [citizenId],
      );

    it('creates the deadline when the authority writes the expiry date, and moves it when written again', async () => {
      await broker.http
        .put(`/v1/citizens/${ppid.RAMQ}/attributes/health.card_expiry`)
        .set(ramq)
        .send({ value: '2026-11-15' })
        .expect(200);
      const [created] = await deadlineOf();
      expect(created).toMatchObject({
        kind: 'health-card-renewal',
        organisation_id: 'RAMQ',
        title: { fr: 'Renouvellement de la carte d’assurance maladie', en: 'Health insurance card renewal' },
      });
      // 00:00 in Montréal on the expiry date (EST by then).
      expect(created.due_at.toISOString()).toBe('2026-11-15T05:00:00.000Z');
      const firstSet = await remindersOf(created.id);
      // Midnight is quiet: each reminder goes when the quiet hours end, that morning (after the autumn change for two).
      expect(firstSet.map((r) => [r.offset_days, r.status, localWall(r.send_at)])).toEqual([
        [30, 'scheduled', '2026-10-16 08:00'],
        [7, 'scheduled', '2026-11-08 08:00'],
        [1, 'scheduled', '2026-11-14 08:00'],
      ]);
      expect(firstSet.map((r) => r.send_at.toISOString())).toEqual([
        '2026-10-16T12:00:00.000Z',
        '2026-11-08T13:00:00.000Z',
        '2026-11-14T13:00:00.000Z',
      ]);

      await broker.http
        .put(`/v1/citizens/${ppid.RAMQ}/attributes/health.card_expiry`)
        .set(ramq)
        .send({ value: '2030-11-15' })
        .expect(200);
      const moved = await deadlineOf();
      expect(moved).toHaveLength(1);
      expect(moved[0].id).toBe(created.id);
      expect(moved[0].due_at.toISOString()).toBe('2030-11-15T05:00:00.000Z');
      const rows = await remindersOf(created.id);
      expect(rows.map((r) => r.status)).toEqual([
        'cancelled',
        'cancelled',
        'cancelled',
        'scheduled',
        'scheduled',
        'scheduled',
      ]);

      // The same value again moves nothing.
      await broker.http
        .put(`/v1/citizens/${ppid.RAMQ}/attributes/health.card_expiry`)
        .set(ramq)
        .send({ value: '2030-11-15' })
        .expect(200);
      expect(await remindersOf(created.id)).toHaveLength(6);
    });

    it('the demo seeding writes expiry dates through the same rule: the demo citizen has both deadlines', async () => {
      await seedDemo(vault.env, 'config/demo/citizens.yaml');
      const rows = await query<{
        kind: string;
        organisation_id: string;
        due_at: Date;
        source_attribute: string;
      }>(
        `SELECT d.kind, d.organisation_id, d.due_at, d.source_attribute FROM deadline d
           JOIN citizen c ON c.id = d.citizen_id WHERE c.subject = 'demo-citizen' ORDER BY d.due_at`,
      );
      expect(rows).toEqual([
        {
          kind: 'health-card-renewal',
          organisation_id: 'RAMQ',
          due_at: new Date('2027-01-31T05:00:00Z'),
          source_attribute: 'health.card_expiry',
        },
        {
          kind: 'licence-renewal',
          organisation_id: 'SAAQ',
          due_at: new Date('2027-05-14T04:00:00Z'),
          source_attribute: 'licence.driver_expiry',
        },
      ]);
    });

    it('writes no deadline for an attribute that does not expire', async () => {
      const before = await counts();
      await broker.http
        .put(`/v1/citizens/${ppid.RAMQ}/attributes/health.insurance_number`)
        .set(ramq)
        .send({ value: 'ABCD12345678' })
        .expect(200);
      expect(await counts()).toEqual(before);
    });
  });

  describe('metric events (rule 7)', () => {
    interface EventRow {
      type: string;
      data: Record<string, unknown>;
    }
    const eventsOf = (deadlineId: string) =>
      query<EventRow>(
        `SELECT type, data FROM outbox_event WHERE topic = 'metric' AND data->>'deadline' = $1
         ORDER BY occurred_at, type`,
        [deadlineId],
      );

    it('writes deadline.registered, .moved and .completed with each change, naming the service, never the citizen', async () => {
      const { body } = await post(licence({ externalRef: 'permit-events' })).expect(201);
      await patch(body.id, { dueAt: '2026-07-20T10:00:00-04:00' }).expect(200);
      await patch(body.id, { status: 'completed' }).expect(200);
      // Asked again, nothing changes and nothing is written.
      await patch(body.id, { status: 'completed' }).expect(200);
      const events = await eventsOf(body.id);
      const facts = {
        deadline: body.id,
        kind: 'licence-renewal',
        organisation: 'SAAQ',
        service: 'saaq-permis',
      };
      expect(events).toEqual([
        { type: 'deadline.registered', data: { ...facts, dueAt: '2026-07-01T14:00:00+00:00' } },
        { type: 'deadline.moved', data: { ...facts, dueAt: '2026-07-20T14:00:00+00:00' } },
        { type: 'deadline.completed', data: { ...facts, dueAt: '2026-07-20T14:00:00+00:00' } },
      ]);
      expect(JSON.stringify(events)).not.toContain(citizenId);
      expect(JSON.stringify(events)).not.toContain(ppid.SAAQ);
    });

    it('writes deadline.registered for a deadline from an expiring attribute, its service null', async () => {
      await broker.http
        .put(`/v1/citizens/${ppid.SAAQ}/attributes/licence.driver_expiry`)
        .set(saaq)
        .send({ value: '2032-03-01' })
        .expect(200);
      const [deadline] = await query<{ id: string }>(
        `SELECT id FROM deadline WHERE citizen_id = $1 AND source_attribute = 'licence.driver_expiry'`,
        [citizenId],
      );
      expect(await eventsOf(deadline.id)).toEqual([
        {
          type: 'deadline.registered',
          data: {
            deadline: deadline.id,
            kind: 'licence-renewal',
            organisation: 'SAAQ',
            service: null,
            dueAt: '2032-03-01T05:00:00+00:00',
          },
        },
      ]);
    });

    it('leaves no event when the write it belongs to rolls back', async () => {
      const before = await query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox_event`);
      const deadlines = broker.app.get(DeadlinesService);
      const reports = broker.app.get(CollectionReports);
      const failing = broker.dataSource.transaction(async (em) => {
        await deadlines.onAttributeWritten(em, citizenId, 'licence.driver_expiry', '2033-03-01');
        await reports.record(em, {
          citizenId,
          serviceId: 'saaq-permis',
          organisationId: 'SAAQ',
          attributes: ['contact.email'],
          reAsked: ['contact.email'],
          firstTime: [],
        });
        // Both events were written in this transaction, which now fails.
        const [{ n }] = await em.query(`SELECT count(*)::int AS n FROM outbox_event`);
        expect(n).toBe(before[0].n + 2);
        throw new Error('the business write fails after its events');
      });
      await expect(failing).rejects.toThrow('the business write fails after its events');
      expect(await query(`SELECT count(*)::int AS n FROM outbox_event`)).toEqual(before);
      expect(
        await query(`SELECT 1 FROM deadline WHERE citizen_id = $1 AND due_at = '2033-03-01T05:00:00Z'`, [
          citizenId,
        ]),
      ).toEqual([]);
      // A refused change (a closed deadline moved) writes no event either.
      const { body } = await post(licence({ externalRef: 'permit-refused' })).expect(201);
      await patch(body.id, { status: 'cancelled' }).expect(200);
      await patch(body.id, { dueAt: '2026-08-01T10:00:00-04:00' }).expect(409);
      expect((await eventsOf(body.id)).map((e) => e.type)).toEqual([
        'deadline.registered',
        'deadline.cancelled',
      ]);
    });

    it('writes only events the barometer’s schema takes', async () => {
      expect(await metricEventsPassSchema(broker.dataSource, broker.app.get(PlatformSigner))).toEqual(
        expect.arrayContaining([
          'deadline.cancelled',
          'deadline.completed',
          'deadline.moved',
          'deadline.registered',
        ]),
      );
    });
  });

  describe('in the vault', () => {
    it('lists the citizen’s deadlines with their reminders and each channel’s outcome', async () => {
      const { body: created } = await post(licence({ externalRef: 'permit-vault' })).expect(201);
      const [thirty] = await remindersOf(created.id);
      await query(`UPDATE reminder SET status = 'sent', sent_at = $2 WHERE id = $1`, [thirty.id, START]);
      await query(
        `INSERT INTO reminder_delivery (citizen_id, reminder_id, channel, status, at) VALUES ($1, $2, 'email', 'sent', $3)`,
        [citizenId, thirty.id, START],
      );
      const { body } = await vault.http.get('/v1/me/deadlines').set(citizen).expect(200);
      const mine = body.deadlines.find((d: { id: string }) => d.id === created.id);
      expect(mine).toEqual({
        id: created.id,
        kind: 'licence-renewal',
        kindLabel: { fr: 'Renouvellement du permis de conduire', en: 'Driver’s licence renewal' },
        title: { fr: 'Renouveler votre permis', en: 'Renew your licence' },
        organisation: 'SAAQ',
        organisationName: expect.objectContaining({ fr: expect.any(String), en: expect.any(String) }),
        dueAt: '2026-07-01T14:00:00.000Z',
        status: 'open',
        closedAt: null,
        actionUrl: 'https://saaq.example/renouveler',
        source: { service: 'saaq-permis' },
        reminders: [
          {
            id: thirty.id,
            offsetDays: 30,
            sendAt: '2026-06-01T14:00:00.000Z',
            status: 'sent',
            reason: null,
            sentAt: START.toISOString(),
            channels: [{ channel: 'email', status: 'sent', reason: null, at: START.toISOString() }],
          },
          expect.objectContaining({ offsetDays: 7, status: 'scheduled', sentAt: null, channels: [] }),
          expect.objectContaining({ offsetDays: 1, status: 'scheduled', sentAt: null, channels: [] }),
        ],
      });
      const fromAttribute = body.deadlines.find(
        (d: { source: { attribute?: string } }) => d.source.attribute,
      );
      expect(fromAttribute).toMatchObject({
        source: { attribute: 'health.card_expiry' },
        organisation: 'RAMQ',
      });
      // Another citizen sees none of them.
      const bob = await vault.auth('bob');
      expect((await vault.http.get('/v1/me/deadlines').set(bob).expect(200)).body).toEqual({ deadlines: [] });
    });

    it('serves an iCalendar feed in the citizen’s language, one event per deadline with a stable UID', async () => {
      const { body: list } = await vault.http.get('/v1/me/deadlines').set(citizen).expect(200);
      const response = await vault.http.get('/v1/me/deadlines.ics').set(citizen).expect(200);
      expect(response.headers['content-type']).toMatch(/^text\/calendar/);
      const calendar = new ICAL.Component(ICAL.parse(response.text));
      const events = calendar.getAllSubcomponents('vevent').map((e) => new ICAL.Event(e));
      expect(events.map((e) => e.uid).sort()).toEqual(
        list.deadlines.map((d: { id: string }) => `${d.id}@une-fois`).sort(),
      );
      const permit = events.find(
        (e) =>
          e.uid ===
          `${list.deadlines.find((d: { title: { fr: string } }) => d.title.fr === 'Renouveler votre permis').id}@une-fois`,
      )!;
      expect(permit.summary).toBe('Renouveler votre permis');
      expect(permit.startDate.toJSDate().toISOString()).toMatch(/T14:00:00.000Z$/);

      await vault.http
        .put('/v1/me/preferences')
        .set(citizen)
        .send({
          language: 'en',
          channels: { email: true, sms: false, portal: true },
          quietHours: { start: '21:00', end: '08:00' },
        })
        .expect(200);
      const english = new ICAL.Component(
        ICAL.parse((await vault.http.get('/v1/me/deadlines.ics').set(citizen).expect(200)).text),
      );
      expect(english.getAllSubcomponents('vevent').map((e) => new ICAL.Event(e).summary)).toContain(
        'Renew your licence',
      );
    });

    it('serves the feed at a capability URL a calendar app subscribes to without a token; a new one revokes the old', async () => {
      const feedPath = (url: string) => new URL(url).pathname;
      const created = await vault.http.post('/v1/me/calendar-feed').set(citizen).expect(201);
      expect(created.headers['cache-control']).toBe('private, no-store');
      expect(created.body).toEqual({
        url: expect.stringMatching(/^http.*\/v1\/calendar-feeds\/[A-Za-z0-9_-]{43}\.ics$/),
      });
      const secret = /([A-Za-z0-9_-]{43})\.ics$/.exec(created.body.url)![1];
      // Only the secret's SHA-256 is kept.
      const [stored] = await query<{ token_hash: Buffer }>(
        'SELECT token_hash FROM calendar_feed WHERE citizen_id = $1',
        [citizenId],
      );
      expect(stored.token_hash).toEqual(createHash('sha256').update(secret).digest());

      const feed = await vault.http.get(feedPath(created.body.url)).expect(200);
      expect(feed.headers['content-type']).toMatch(/^text\/calendar/);
      expect(feed.headers['cache-control']).toBe('private, no-store');
      const events = new ICAL.Component(ICAL.parse(feed.text))
        .getAllSubcomponents('vevent')
        .map((e) => new ICAL.Event(e));
      const { body: list } = await vault.http.get('/v1/me/deadlines').set(citizen).expect(200);
      expect(events.map((e) => e.uid).sort()).toEqual(
        list.deadlines.map((d: { id: string }) => `${d.id}@une-fois`).sort(),
      );
      // In the citizen's language (set to English above).
      expect(events.map((e) => e.summary)).toContain('Renew your licence');

      const rotated = await vault.http.post('/v1/me/calendar-feed').set(citizen).expect(201);
      expect(rotated.body.url).not.toBe(created.body.url);
      const gone = await vault.http.get(feedPath(created.body.url)).expect(404);
      expect(gone.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(gone.body.code).toBe('calendar_feed_not_found');
      await vault.http.get(feedPath(rotated.body.url)).expect(200);

      await vault.http.delete('/v1/me/calendar-feed').set(citizen).expect(204);
      await vault.http.get(feedPath(rotated.body.url)).expect(404);
      await vault.http.delete('/v1/me/calendar-feed').set(citizen).expect(204);
      expect(await query('SELECT 1 FROM calendar_feed WHERE citizen_id = $1', [citizenId])).toEqual([]);

      // Made-up, malformed or extension-less addresses open nothing; the citizen routes need a token.
      for (const path of [
        `/v1/calendar-feeds/${'A'.repeat(43)}.ics`,
        '/v1/calendar-feeds/short.ics',
        `/v1/calendar-feeds/${secret}`,
      ])
        expect((await vault.http.get(path).expect(404)).body.code).toBe('calendar_feed_not_found');
      await vault.http.post('/v1/me/calendar-feed').expect(401);
    });

    it('lists portal notifications newest first, paged, and marks one read', async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const [i, id] of ids.entries()) {
        await query(
          `INSERT INTO notification (citizen_id, id, language, subject, body, created_at) VALUES ($1, $2, 'fr', $3, 'corps', $4)`,
          [citizenId, id, `avis ${i}`, new Date(START.getTime() + i * 1000)],
        );
      }
      const first = await vault.http.get('/v1/me/notifications?limit=2').set(citizen).expect(200);
      expect(first.body.notifications.map((n: { subject: string }) => n.subject)).toEqual([
        'avis 2',
        'avis 1',
      ]);
      const second = await vault.http
        .get(`/v1/me/notifications?limit=2&before=${first.body.nextBefore}`)
        .set(citizen)
        .expect(200);
      expect(second.body).toEqual({
        notifications: [expect.objectContaining({ subject: 'avis 0', readAt: null })],
        nextBefore: null,
      });

      clock.advance(60_000);
      try {
        const read = await vault.http.post(`/v1/me/notifications/${ids[0]}/read`).set(citizen).expect(200);
        expect(read.body.readAt).toBe(new Date(START.getTime() + 60_000).toISOString());
      } finally {
        clock.set(START);
      }
      const bob = await vault.auth('bob');
      const refused = await vault.http.post(`/v1/me/notifications/${ids[1]}/read`).set(bob).expect(404);
      expect(refused.body.code).toBe('notification_not_found');
      await vault.http.post('/v1/me/notifications/nope/read').set(citizen).expect(400);
      await vault.http.get('/v1/me/notifications?before=nope').set(citizen).expect(400);
    });

    const setQuietHours = (start: string, end: string) =>
      vault.http
        .put('/v1/me/preferences')
        .set(citizen)
        .send({
          language: 'fr',
          channels: { email: true, sms: false, portal: true },
          quietHours: { start, end },
        })
        .expect(200);

    it('places scheduled reminders again when quiet hours change', async () => {
      const { body } = await post(licence({ externalRef: 'permit-quiet' })).expect(201);
      const before = await remindersOf(body.id);
      expect(before.map((r) => localWall(r.send_at))).toEqual([
        '2026-06-01 10:00',
        '2026-06-24 10:00',
        '2026-06-30 10:00',
      ]);
      clock.set(new Date('2026-06-01T13:00:00Z')); // 09:00 in Montréal
      try {
        await setQuietHours('09:30', '12:00');
      } finally {
        clock.set(START);
      }
      const after = await remindersOf(body.id);
      expect(after.map((r) => [r.offset_days, r.status, localWall(r.send_at)])).toEqual([
        // 10:00 is quiet now: its window ends at 12:00.
        [30, 'scheduled', '2026-06-01 12:00'],
        [7, 'scheduled', '2026-06-24 12:00'],
        [1, 'scheduled', '2026-06-30 12:00'],
      ]);
      // Back to the defaults for the tests that follow.
      await setQuietHours('21:00', '08:00');
    });

    it('plans a new deadline with the citizen’s own quiet hours', async () => {
      await setQuietHours('09:30', '12:00');
      try {
        const first = await post(licence({ externalRef: 'permit-own-quiet' })).expect(201);
        const planned = [
          // 10:00 is in the citizen's quiet hours, which end at 12:00.
          [30, 'scheduled', '2026-06-01 12:00'],
          [7, 'scheduled', '2026-06-24 12:00'],
          [1, 'scheduled', '2026-06-30 12:00'],
        ];
        const rows = await remindersOf(first.body.id);
        expect(rows.map((r) => [r.offset_days, r.status, localWall(r.send_at)])).toEqual(planned);
        // The same externalRef again: the same deadline, its reminders as they were.
        const again = await post(licence({ externalRef: 'permit-own-quiet' })).expect(201);
        expect(again.body).toEqual(first.body);
        expect(await remindersOf(first.body.id)).toEqual(rows);
      } finally {
        await setQuietHours('21:00', '08:00');
      }
    });

    it('never loses a reminder to a change of quiet hours: one whose new time is past goes now', async () => {
      // Planned at 23:30, the 30-day reminder waits for 08:00 under 21:00–08:00.
      const { body } = await post(
        licence({ externalRef: 'permit-night', dueAt: '2026-07-01T23:30:00-04:00' }),
      ).expect(201);
      const [thirty] = await remindersOf(body.id);
      expect(localWall(thirty.send_at)).toBe('2026-06-02 08:00');
      // At 07:30 the citizen changes to 22:00–07:00: 07:00 is already past, so it goes at 07:30.
      const at = new Date('2026-06-02T11:30:00Z');
      clock.set(at);
      try {
        await setQuietHours('22:00', '07:00');
      } finally {
        clock.set(START);
      }
      const after = await remindersOf(body.id);
      expect(after.map((r) => [r.offset_days, r.status, r.reason, localWall(r.send_at)])).toEqual([
        [30, 'scheduled', null, '2026-06-02 07:30'],
        [7, 'scheduled', null, '2026-06-25 07:00'],
        [1, 'scheduled', null, '2026-07-01 07:00'],
      ]);
      expect(after[0].send_at).toEqual(at);
      await setQuietHours('21:00', '08:00');
    });

    it('leaves a reminder already due to the sweeper when quiet hours change', async () => {
      const { body } = await post(licence({ externalRef: 'permit-due' })).expect(201);
      const [thirty] = await remindersOf(body.id);
      // 10:30: the 30-day reminder (10:00) is due and not yet swept.
      clock.set(new Date('2026-06-01T14:30:00Z'));
      try {
        await setQuietHours('09:00', '12:00');
      } finally {
        clock.set(START);
      }
      const [after] = await remindersOf(body.id);
      expect([after.status, after.send_at]).toEqual(['scheduled', thirty.send_at]);
      await setQuietHours('21:00', '08:00');
    });

    it('exports the deadlines and notifications, and the erasure removes them', async () => {
      const exported = await vault.http.get('/v1/me/export').set(citizen).expect(200);
      expect(exported.body.deadlines.length).toBeGreaterThan(0);
      expect(exported.body.deadlines[0].reminders.length).toBeGreaterThan(0);
      expect(exported.body.notifications).toHaveLength(3);
      const held = async () =>
        (
          await query<{
            deadlines: number;
            reminders: number;
            deliveries: number;
            notifications: number;
            feeds: number;
          }>(
            `SELECT (SELECT count(*) FROM deadline WHERE citizen_id = $1)::int AS deadlines,
                    (SELECT count(*) FROM calendar_feed WHERE citizen_id = $1)::int AS feeds,
                    (SELECT count(*) FROM reminder WHERE citizen_id = $1)::int AS reminders,
                    (SELECT count(*) FROM reminder_delivery WHERE citizen_id = $1)::int AS deliveries,
                    (SELECT count(*) FROM notification WHERE citizen_id = $1)::int AS notifications`,
            [citizenId],
          )
        )[0];
      const feed = await vault.http.post('/v1/me/calendar-feed').set(citizen).expect(201);
      expect(await held()).toEqual({
        deadlines: expect.any(Number),
        reminders: expect.any(Number),
        deliveries: 1,
        notifications: 3,
        feeds: 1,
      });
      const erased = await vault.http.delete('/v1/me').set(citizen).expect(200);
      expect(erased.body.erased).toEqual(
        expect.arrayContaining(['deadlines', 'calendarFeed', 'notifications']),
      );
      expect(await held()).toEqual({ deadlines: 0, reminders: 0, deliveries: 0, notifications: 0, feeds: 0 });
      await vault.http.get(new URL(feed.body.url).pathname).expect(404);
      // The service's identifier no longer reaches anyone.
      const refused = await post(licence({ externalRef: 'after-erasure' })).expect(404);
      expect(refused.body.code).toBe('citizen_not_found');
    });
  });
});
