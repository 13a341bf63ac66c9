import { auditAccessLog } from '#libs/access-log';
import { runCli } from '../apps/cli/src/commands.js';
import {
  citizenWithEmailConsents,
  type Grant,
  type RunningBroker,
  startBroker,
} from './support/broker-app.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

/**
 * The broker gathers the access-log appends of concurrent data requests into
 * one statement (group commit). A window much longer than production's 1 ms
 * makes the batches of this test its waves of requests.
 */
const WINDOW_MS = 1000;

describe('Access log: group commit of the broker’s appends', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;

  beforeAll(async () => {
    db = await createTestDatabase('groupcommit');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('groupcommit', { db, idp });
    broker = await startBroker(db, idp, { ACCESS_LOG_GROUP_COMMIT_MILLISECONDS: String(WINDOW_MS) });
  });
  afterAll(async () => {
    await broker.close();
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  /** Citizens with an e-mail address each, under an ongoing consent to two services. */
  async function citizens(names: string[]) {
    const grants: Grant[] = [
      { service: broker.service('saaq-permis'), purpose: 'licence-renewal', mode: 'ongoing' },
      { service: broker.service('mess-aide'), purpose: 'benefit-application', mode: 'ongoing' },
    ];
    return Promise.all(names.map((name) => citizenWithEmailConsents(vault, broker, name, grants)));
  }

  type Citizen = Awaited<ReturnType<typeof citizens>>[number];

  /** One data request per entry, all at once; the i-th alternates between the two services. */
  async function ask(who: Citizen[]) {
    const saaq = broker.service('saaq-permis');
    const mess = broker.service('mess-aide');
    const auths = { [saaq.id]: await saaq.auth(), [mess.id]: await mess.auth() };
    const purposes = { [saaq.id]: 'licence-renewal', [mess.id]: 'benefit-application' };
    return who.map((citizen, i) => {
      const service = i % 2 === 0 ? saaq.id : mess.id;
      return broker.http
        .post('/v1/data-requests')
        .set(auths[service])
        .send({
          citizen: { ppid: citizen.ppids[service] },
          purpose: purposes[service],
          attributes: ['contact.email'],
        })
        .then((response) => ({ citizen, response }));
    });
  }

  const entriesOf = async (citizenId: string) =>
    (await broker.dataSource.query(
      `SELECT seq::int AS seq, request_id, xmin::text AS tx FROM access_log_entry WHERE citizen_id = $1 ORDER BY seq`,
      [citizenId],
    )) as { seq: number; request_id: string; tx: string }[];

  async function auditOk() {
    expect(await auditAccessLog(broker.dataSource)).toMatchObject({ broken: null });
    const lines: string[] = [];
    const code = await runCli(['audit:verify'], testEnv(db, idp), {
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect({ code, output: lines.join('\n') }).toEqual({ code: 0, output: expect.stringMatching(/^OK: /) });
  }

  it('writes the appends of concurrent requests for the same and different citizens in shared statements, every chain whole', async () => {
    const names = ['ada', 'bob', 'cyd', 'dot', 'eli'];
    const people = await citizens(names);
    // Eight requests for ada, four for bob, two for each of the others: 18 at once.
    const who = [
      ...Array(8).fill(people[0]),
      ...Array(4).fill(people[1]),
      ...people.slice(2),
      ...people.slice(2),
    ];
    const answers = await Promise.all(await ask(who));
    expect(answers.map(({ response }) => response.status)).toEqual(Array(who.length).fill(200));

    const transactions = new Set<string>();
    for (const [i, person] of people.entries()) {
      const answered = answers
        .filter(({ citizen }) => citizen === person)
        .map(({ response }) => response.body);
      for (const body of answered)
        expect(body.released).toEqual([expect.objectContaining({ value: `${names[i]}@exemple.ca` })]);
      const entries = await entriesOf(person.id);
      // One link per request, in one unbroken chain, each the link of a request that was answered.
      expect(entries.map((e) => e.seq)).toEqual(answered.map((_, i) => i + 1));
      expect(new Set(entries.map((e) => e.request_id))).toEqual(new Set(answered.map((b) => b.requestId)));
      for (const entry of entries) transactions.add(entry.tx);
    }
    // Links of one statement share its transaction: the 18 links, 8 of them one citizen's, took one or two commits.
    expect(transactions.size).toBeLessThanOrEqual(2);
    await auditOk();
  });

  it('fails closed exactly the requests of a batch that fails, while another batch commits beside it', async () => {
    const [fox, gil, hud, ivo, jan, kim] = await citizens(['fox', 'gil', 'hud', 'ivo', 'jan', 'kim']);
    const before = new Map(
      await Promise.all(
        [fox, gil, hud, ivo, jan, kim].map(async (c) => [c.id, (await entriesOf(c.id)).length] as const),
      ),
    );
    const serviceActive = async () =>
      (
        await broker.dataSource.query(
          `SELECT count(*)::int AS n FROM outbox_event WHERE type = 'service.active'`,
        )
      )[0].n as number;
    const activityBefore = await serviceActive();

    // The database refuses one of fox's links, after holding the statement a while: the whole statement fails.
    await withClient(db.url, async (client) => {
      await client.query(`CREATE FUNCTION refuse_fox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.citizen_id = '${fox.id}' THEN
            PERFORM pg_sleep(1.5);
            RAISE EXCEPTION 'refused for the test';
          END IF;
          RETURN NEW;
        END $$`);
      await client.query(
        `CREATE TRIGGER refuse_fox BEFORE INSERT ON access_log_entry FOR EACH ROW EXECUTE FUNCTION refuse_fox()`,
      );
    });
    try {
      // Batch A: fox, and gil twice, hud and ivo, gathered in one window.
      const batchA = await ask([fox, gil, gil, hud, ivo]);
      // Batch B, in the next window, while A's statement is still running: gil and hud again (their chains
      // locked by A's statement until it fails), and jan and kim, whom A does not touch.
      await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 200));
      const batchB = await ask([gil, hud, jan, kim, jan]);
      const [a, b] = await Promise.all([Promise.all(batchA), Promise.all(batchB)]);

      for (const { response } of a) {
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.headers['retry-after']).toBeDefined();
        expect(response.body.code).toBe('service_unavailable');
        expect(response.text).not.toContain('@exemple.ca');
      }
      expect(b.map(({ response }) => response.status)).toEqual([200, 200, 200, 200, 200]);

      // Batch A left nothing; batch B's requests each left their link, in order after what was there.
      const logged = new Set(b.map(({ response }) => response.body.requestId as string));
      for (const person of [fox, gil, hud, ivo, jan, kim]) {
        const entries = await entriesOf(person.id);
        const mine = b.filter(({ citizen }) => citizen === person).length;
        expect([person.id, entries.length]).toEqual([person.id, before.get(person.id)! + mine]);
        expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
        for (const entry of entries.slice(before.get(person.id)!)) expect(logged).toContain(entry.request_id);
      }
      // No activity event of batch A's services was left behind by it either (both services were active before).
      expect(await serviceActive()).toBe(activityBefore);
    } finally {
      await withClient(db.url, async (client) => {
        await client.query(`DROP TRIGGER refuse_fox ON access_log_entry`);
        await client.query(`DROP FUNCTION refuse_fox()`);
      });
    }

    // The same requests go through once the database takes them again.
    const again = await Promise.all(await ask([fox, gil]));
    expect(again.map(({ response }) => response.status)).toEqual([200, 200]);
    await auditOk();
  });
});
