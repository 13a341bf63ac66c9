import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runCli } from '../apps/cli/src/commands.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { startVault, testEnv } from './support/vault-app.js';

const key = () => randomBytes(32).toString('base64');

describe('Vault: data at rest', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;

  beforeAll(async () => {
    idp = await new TestIdentityProvider().start();
  });
  beforeEach(async () => {
    db = await createTestDatabase('atrest');
  });
  afterEach(() => db.drop());
  afterAll(() => idp.stop());

  it('leaves no trace of a value in clear in a database dump', async () => {
    const vault = await startVault('atrest', { db, idp });
    try {
      const canary = `canary-${randomBytes(6).toString('hex')}@exemple.ca`;
      const auth = await vault.auth('canary-holder');
      await vault.http.put('/v1/me/attributes/contact.email').set(auth).send({ value: canary }).expect(200);
      await vault.http
        .put('/v1/me/attributes/contact.email')
        .set(auth)
        .send({ value: canary.replace('canary', 'second') })
        .expect(200);
      await vault.http.get('/v1/me').set(auth).expect(200);

      const dump = execFileSync('pg_dump', ['--data-only', '--no-owner', '--dbname', db.url], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(dump).toContain('attribute_value'); // the dump did include the data
      const local = canary.split('@')[0];
      for (const form of [
        local,
        Buffer.from(local).toString('hex'),
        Buffer.from(local).toString('base64').slice(0, 12),
      ]) {
        expect(dump).not.toContain(form);
      }
      // while the citizen still reads it back
      const profile = await vault.http.get('/v1/me').set(auth).expect(200);
      expect(profile.body.attributes[0].value).toBe(canary.replace('canary', 'second'));
    } finally {
      await vault.close();
    }
  });

  it('rotates the master key while profiles are being read, with no error', async () => {
    const k1 = `mk:1:${key()}`;
    const k2 = `mk:2:${key()}`;
    const citizens = Array.from({ length: 40 }, (_, i) => `rotating-${i}`);

    const before = await startVault('atrest', { db, idp, env: { MASTER_KEYS: k1 } });
    for (const subject of citizens) {
      await before.http
        .put('/v1/me/attributes/contact.phone')
        .set(await before.auth(subject))
        .send({ value: `+1514555${String(1000 + citizens.indexOf(subject))}` })
        .expect(200);
    }
    await before.close();

    // Step 1 of a rotation: every replica restarts knowing both versions.
    const during = await startVault('atrest', { db, idp, env: { MASTER_KEYS: `${k1},${k2}` } });
    const headers = await Promise.all(citizens.map((subject) => during.auth(subject)));
    let rotating = true;
    const failures: string[] = [];
    let reads = 0;
    let readsWhileRotating = 0;
    const reader = (async () => {
      while (rotating || reads < 200) {
        const i = reads % citizens.length;
        const response = await during.http.get('/v1/me').set(headers[i]);
        reads += 1;
        if (rotating) readsWhileRotating += 1;
        const expected = `+1514555${1000 + i}`;
        if (response.status !== 200 || response.body.attributes?.[0]?.value !== expected) {
          failures.push(`${response.status} ${JSON.stringify(response.body)}`);
        }
      }
    })();
    // Step 2: re-wrap every data key, a few per transaction, while the reads go on.
    const output: string[] = [];
    const code = await runCli(
      ['keys:rotate', '--batch', '3'],
      testEnv(db, idp, { MASTER_KEYS: `${k1},${k2}` }),
      {
        out: (line) => output.push(line),
        err: (line) => output.push(line),
      },
    );
    rotating = false;
    await reader;
    await during.close();

    expect(code).toBe(0);
    expect(output.join('\n')).toMatch(/Re-wrapped \d+ data keys under mk v2; 0 remain on older versions/);
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThanOrEqual(200);
    expect(readsWhileRotating).toBeGreaterThan(0);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query(
      'SELECT master_key_version AS v, count(*)::int AS n FROM citizen_key GROUP BY 1',
    );
    await client.end();
    expect(rows).toEqual([{ v: 2, n: citizens.length }]);

    // Step 3: the old version is removed from the configuration; everything still opens.
    const after = await startVault('atrest', { db, idp, env: { MASTER_KEYS: k2 } });
    try {
      for (const [i, subject] of citizens.entries()) {
        const profile = await after.http
          .get('/v1/me')
          .set(await after.auth(subject))
          .expect(200);
        expect(profile.body.attributes[0].value).toBe(`+1514555${1000 + i}`);
      }
    } finally {
      await after.close();
    }
  });
});
