import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../apps/cli/src/commands.js';
import { AppConfig } from '#libs/config';
import { MasterKeyring } from '#libs/crypto';
import { PairwiseIds } from '#libs/identity';
import { decryptAttribute } from '#libs/vault';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, databaseUrl, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface Sealed {
  attribute: string;
  ciphertext: Buffer;
}

/**
 * What of a citizen's sealed values opens with what a database holds now:
 * their wrapped data key, unwrapped with the configured master keys.
 */
async function decryptable(url: string, masterKeys: string, citizenId: string, sealed: Sealed[]) {
  const keyring = new MasterKeyring(
    AppConfig.fromEnvironment({ NODE_ENV: 'test', MASTER_KEYS: masterKeys }).masterKeys,
  );
  const [row] = await withClient(
    url,
    async (client) =>
      (
        await client.query(
          `SELECT master_key_id, master_key_version, wrapped_key FROM citizen_key WHERE citizen_id = $1`,
          [citizenId],
        )
      ).rows,
  );
  if (!row) return [];
  const key = keyring.unwrap(
    { masterKeyId: row.master_key_id, masterKeyVersion: row.master_key_version, wrapped: row.wrapped_key },
    citizenId,
  );
  return sealed.map((s) => decryptAttribute(key, s.ciphertext, citizenId, s.attribute));
}

async function heldRows(url: string, citizenId: string) {
  return withClient(url, async (client) => {
    const count = async (table: string) =>
      (await client.query(`SELECT count(*)::int AS n FROM ${table} WHERE citizen_id = $1`, [citizenId]))
        .rows[0].n as number;
    return {
      values: await count('attribute_value'),
      history: await count('attribute_history'),
      keys: await count('citizen_key'),
      pairwiseIds: await count('pairwise_id'),
      register: await count('erasure_register'),
    };
  });
}

describe('Erasure', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  let broker: RunningBroker;
  const masterKeys = `mk:1:${Buffer.alloc(32, 7).toString('base64')}`;

  beforeAll(async () => {
    db = await createTestDatabase('erasure');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('erasure', { db, idp, env: { MASTER_KEYS: masterKeys } });
    broker = await startBroker(db, idp, { MASTER_KEYS: masterKeys });
  });
  afterAll(async () => {
    await broker.close();
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  /** A citizen known to SAAQ (a consent gives SAAQ its pairwise id), optionally with a self-declared value. */
  async function knownCitizen(subject: string, withValue: boolean) {
    const auth = await vault.auth(subject);
    if (withValue) {
      await vault.http
        .put('/v1/me/attributes/contact.email')
        .set(auth)
        .send({ value: `${subject}@exemple.ca` })
        .expect(200);
    }
    await vault.http
      .post('/v1/me/consents')
      .set(auth)
      .send({
        service: 'saaq-permis',
        purpose: 'licence-renewal',
        attributes: ['contact.email'],
        mode: 'ongoing',
      })
      .expect(201);
    const [{ id }] = await vault.dataSource.query(`SELECT id FROM citizen WHERE subject = $1`, [subject]);
    return { auth, citizenId: id as string, ppid: broker.app.get(PairwiseIds).of('SAAQ', id) };
  }

  it('racing authoritative writes: a write commits before the erasure and is erased, or is refused after it', async () => {
    const writer = await broker.service('saaq-adresse').auth();
    let refusedAfter = 0;
    let committedBefore = 0;
    for (let round = 0; round < 16; round += 1) {
      // Odd rounds: no value yet, so a racing write would be the one creating the data key.
      const { auth, citizenId, ppid } = await knownCitizen(`racer-${round}`, round % 2 === 0);
      const outcomes: { status: number; code?: string; updatedAt?: string; type?: string }[] = [];
      let firstWrite!: () => void;
      const firstWriteDone = new Promise<void>((resolve) => (firstWrite = resolve));
      const writeUntilRefused = async (lane: number) => {
        for (let i = 0; i < 200; i += 1) {
          const response = await broker.http
            .put(`/v1/citizens/${ppid}/attributes/address.residential`)
            .set(writer)
            .send({
              value: {
                line1: `${lane}-${i} rue Principale`,
                city: 'Québec',
                province: 'QC',
                postalCode: 'G1R 4P5',
              },
            });
          outcomes.push({
            status: response.status,
            code: response.body.code,
            updatedAt: response.body.updatedAt,
            type: response.type,
          });
          firstWrite();
          if (response.status !== 200) return;
        }
        throw new Error('writes never stopped being accepted');
      };
      const lanes = [0, 1, 2, 3].map(writeUntilRefused);
      // Even rounds: the erasure lands among writes in flight; odd rounds: with the very first ones.
      if (round % 2 === 0) await firstWriteDone;
      const erased = await vault.http.delete('/v1/me').set(auth);
      await Promise.all(lanes);

      expect(erased.status).toBe(200);
      const erasedAt = new Date(erased.body.erasedAt).getTime();
      for (const outcome of outcomes) {
        if (outcome.status === 200) {
          // It committed before the erasure took the citizen's row, so the erasure removed it.
          expect(new Date(outcome.updatedAt!).getTime()).toBeLessThanOrEqual(erasedAt);
          committedBefore += 1;
        } else {
          expect(outcome).toMatchObject({
            status: 404,
            code: 'citizen_not_found',
            type: 'application/problem+json',
          });
          refusedAfter += 1;
        }
      }
      expect(await heldRows(db.url, citizenId)).toEqual({
        values: 0,
        history: 0,
        keys: 0,
        pairwiseIds: 0,
        register: 1,
      });
    }
    // Both sides of the race happened.
    expect(committedBefore).toBeGreaterThan(0);
    expect(refusedAfter).toBeGreaterThan(0);
  });

  it('after a backup is restored, erasure:replay re-applies the erasures it predates', async () => {
    const erased = await knownCitizen('restored-erased', true);
    const kept = await knownCitizen('restored-kept', true);
    await broker.http
      .put(`/v1/citizens/${erased.ppid}/attributes/address.residential`)
      .set(await broker.service('saaq-adresse').auth())
      .send({ value: { line1: '2 rue du Fort', city: 'Québec', province: 'QC', postalCode: 'G1R 3Z8' } })
      .expect(200);
    const sealed: Sealed[] = await vault.dataSource.query(
      `SELECT attribute, ciphertext FROM attribute_history WHERE citizen_id = $1`,
      [erased.citizenId],
    );
    expect(sealed).toHaveLength(2);

    const dir = mkdtempSync(join(tmpdir(), 'unefois-erasure-'));
    const restored = `${db.name}_restored`;
    try {
      const backup = join(dir, 'backup.dump');
      execFileSync('pg_dump', ['--format=custom', '--no-owner', '--file', backup, '--dbname', db.url]);

      await vault.http.delete('/v1/me').set(erased.auth).expect(200);
      expect(await decryptable(db.url, masterKeys, erased.citizenId, sealed)).toEqual([]);
      const exported = await cli(['erasure:export'], testEnv(db, idp, { MASTER_KEYS: masterKeys }));
      expect(exported.code).toBe(0);
      expect(exported.out).toMatch(new RegExp(`^${erased.citizenId} \\d{4}-\\d\\d-\\d\\dT`, 'm'));
      const registerFile = join(dir, 'erasures.txt');
      writeFileSync(registerFile, `${exported.out}\n`);

      await withClient(databaseUrl('postgres'), (client) => client.query(`CREATE DATABASE ${restored}`));
      execFileSync('pg_restore', [
        '--no-owner',
        '--exit-on-error',
        '--dbname',
        databaseUrl(restored),
        backup,
      ]);
      const restoredUrl = databaseUrl(restored);
      // The gap being closed: the backup holds the data key under a master key that is still live.
      expect(await decryptable(restoredUrl, masterKeys, erased.citizenId, sealed)).toEqual([
        expect.anything(),
        expect.anything(),
      ]);

      const env = testEnv({ ...db, name: restored, url: restoredUrl }, idp, { MASTER_KEYS: masterKeys });
      expect(await cli(['erasure:replay', '--register', registerFile], env)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/^Re-applied \d+ erasures; 1 restored data keys destroyed\.$/),
      });
      expect(await decryptable(restoredUrl, masterKeys, erased.citizenId, sealed)).toEqual([]);
      expect(await heldRows(restoredUrl, erased.citizenId)).toEqual({
        values: 0,
        history: 0,
        keys: 0,
        pairwiseIds: 0,
        register: 1,
      });
      const [citizen] = await withClient(
        restoredUrl,
        async (client) =>
          (await client.query(`SELECT subject, erased_at FROM citizen WHERE id = $1`, [erased.citizenId]))
            .rows,
      );
      expect(citizen.subject).toBeNull();
      expect(citizen.erased_at).not.toBeNull();
      // Idempotent, and reading the register from the database the backup replaced works the same.
      expect(await cli(['erasure:replay', '--from', db.url], env)).toMatchObject({
        code: 0,
        out: expect.stringMatching(/^Re-applied \d+ erasures; 0 restored data keys destroyed\.$/),
      });
      // The citizen who was not erased is untouched.
      expect((await heldRows(restoredUrl, kept.citizenId)).values).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await withClient(databaseUrl('postgres'), (client) =>
        client.query(`DROP DATABASE IF EXISTS ${restored} WITH (FORCE)`),
      );
    }
  });

  it('erasure:replay names a malformed register line and applies nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unefois-erasure-'));
    try {
      const file = join(dir, 'bad.txt');
      writeFileSync(file, '# kept off the platform\nnot-a-uuid 2026-01-01T00:00:00Z\n');
      const before = await vault.dataSource.query(`SELECT count(*)::int AS n FROM erasure_register`);
      const result = await cli(['erasure:replay', '--register', file], testEnv(db, idp));
      expect(result).toMatchObject({ code: 1, err: expect.stringContaining(`${file}:2: expected`) });
      expect(await vault.dataSource.query(`SELECT count(*)::int AS n FROM erasure_register`)).toEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Last: it re-wraps every data key of this database under a master key the running apps do not hold.
  it('once the master key that wrapped a backup is retired, nothing in that backup opens', async () => {
    const citizen = await knownCitizen('retired-backup', true);
    const sealed: Sealed[] = await vault.dataSource.query(
      `SELECT attribute, ciphertext FROM attribute_history WHERE citizen_id = $1`,
      [citizen.citizenId],
    );
    const next = `mk:2:${Buffer.alloc(32, 9).toString('base64')}`;
    const dir = mkdtempSync(join(tmpdir(), 'unefois-erasure-'));
    const restored = `${db.name}_retired`;
    try {
      const backup = join(dir, 'backup.dump');
      execFileSync('pg_dump', ['--format=custom', '--no-owner', '--file', backup, '--dbname', db.url]);
      // The rotation the README prescribes: both versions configured, every key re-wrapped, the old one destroyed.
      const rotated = await cli(['keys:rotate'], testEnv(db, idp, { MASTER_KEYS: `${masterKeys},${next}` }));
      expect(rotated).toMatchObject({ code: 0, out: expect.stringMatching(/0 remain on older versions/) });
      expect(await decryptable(db.url, next, citizen.citizenId, sealed)).toEqual([
        'retired-backup@exemple.ca',
      ]);

      await withClient(databaseUrl('postgres'), (client) => client.query(`CREATE DATABASE ${restored}`));
      execFileSync('pg_restore', [
        '--no-owner',
        '--exit-on-error',
        '--dbname',
        databaseUrl(restored),
        backup,
      ]);
      // While the old version still exists, the backup opens; once it is destroyed, nothing in it does.
      expect(await decryptable(databaseUrl(restored), masterKeys, citizen.citizenId, sealed)).toEqual([
        'retired-backup@exemple.ca',
      ]);
      await expect(decryptable(databaseUrl(restored), next, citizen.citizenId, sealed)).rejects.toThrow(
        /Master key mk version 1 is not configured/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await withClient(databaseUrl('postgres'), (client) =>
        client.query(`DROP DATABASE IF EXISTS ${restored} WITH (FORCE)`),
      );
    }
  });
});
