import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, createLocalJWKSet } from 'jose';
import type pg from 'pg';
import {
  AccessLogCheckpoints,
  AccessLogService,
  entryHash,
  leafHash,
  rootFromAuditPath,
} from '#libs/access-log';
import { AppConfig } from '#libs/config';
import { runCli } from '../apps/cli/src/commands.js';
import { CheckpointPublisher } from '../apps/scheduler/src/access-log/checkpoint-publisher.js';
import { createTestDatabase, type TestDatabase, withClient } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { type RunningVault, startVault, testEnv } from './support/vault-app.js';

interface Proof {
  checkpoint: { seq: number; at: string; prevRoot: string; root: string; size: number; jws: string };
  leaf: { seq: number; hash: string; index: number };
  auditPath: string[];
}

describe('Access log: signed checkpoints over all chains (rule 4)', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let vault: RunningVault;
  const subjects = ['ana', 'ben', 'cleo'];
  const ids: Record<string, string> = {};

  const cli = async (...args: string[]) => {
    const lines: string[] = [];
    const code = await runCli(args, testEnv(db, idp), {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    return { code, output: lines.join('\n') };
  };
  const superuser = <T>(work: (client: pg.Client) => Promise<T>) => withClient(db.url, work);
  const entryFor = (citizenId: string) => ({
    citizenId,
    serviceId: 'saaq-permis',
    organisationId: 'SAAQ',
    purpose: 'licence-renewal',
    requestId: randomUUID(),
    attributes: ['contact.email'],
    outcome: 'withheld' as const,
    released: [],
    withheld: [{ attribute: 'contact.email', reason: 'consent_required' as const }],
    basis: [],
  });
  const appendFor = (subject: string) =>
    vault.dataSource.transaction((em) => vault.app.get(AccessLogService).append(em, entryFor(ids[subject])));
  /** What a citizen does with nothing but the public API: the proof, their log's entry, the JWKS. */
  const verifyAsCitizen = async (subject: string): Promise<Proof> => {
    const auth = await vault.auth(subject);
    const proof = (await vault.http.get('/v1/me/access-log/proof').set(auth).expect(200)).body as Proof;
    const log = (await vault.http.get('/v1/me/access-log?limit=200').set(auth).expect(200)).body as {
      entries: { seq: number; hash: string }[];
    };
    expect(log.entries.find((e) => e.seq === proof.leaf.seq)?.hash).toBe(proof.leaf.hash);
    const root = rootFromAuditPath(
      leafHash(Buffer.from(proof.leaf.hash, 'hex')),
      proof.leaf.index,
      proof.checkpoint.size,
      proof.auditPath.map((node) => Buffer.from(node, 'hex')),
    );
    expect(root?.toString('hex')).toBe(proof.checkpoint.root);
    const jwks = (await vault.http.get('/.well-known/jwks.json').expect(200)).body;
    const { payload, protectedHeader } = await compactVerify(proof.checkpoint.jws, createLocalJWKSet(jwks));
    expect(protectedHeader.typ).toBe('access-log-checkpoint+json');
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      seq: proof.checkpoint.seq,
      at: proof.checkpoint.at,
      prevRoot: proof.checkpoint.prevRoot,
      root: proof.checkpoint.root,
      size: proof.checkpoint.size,
    });
    return proof;
  };

  beforeAll(async () => {
    db = await createTestDatabase('checkpoints');
    idp = await new TestIdentityProvider().start();
    vault = await startVault('checkpoints', { db, idp });
    for (const subject of subjects) {
      const exported = await vault.http
        .get('/v1/me/export')
        .set(await vault.auth(subject))
        .expect(200);
      ids[subject] = exported.body.profile.id;
      for (let i = 0; i < 3; i++) await appendFor(subject);
    }
  });
  afterAll(async () => {
    await vault.close();
    await idp.stop();
    await db.drop();
  });

  it('says so, in French or English, while no checkpoint covers the chain', async () => {
    const auth = await vault.auth('ana');
    const fr = await vault.http.get('/v1/me/access-log/proof').set(auth).expect(404);
    expect(fr.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(fr.body).toMatchObject({
      code: 'not_checkpointed',
      title: expect.stringMatching(/point de contrôle/),
    });
    const en = await vault.http.get('/v1/me/access-log/proof').set(auth).set('accept-language', 'en');
    expect(en.body.title).toMatch(/signed checkpoint/);
    await vault.http.get('/v1/me/access-log/proof').expect(401);
    expect((await vault.http.get('/v1/access-log/checkpoints').expect(200)).body).toEqual({
      checkpoints: [],
      nextBefore: null,
    });
  });

  it('signs one checkpoint over every chain, which each citizen verifies with the public keys alone', async () => {
    expect(await cli('audit:checkpoint')).toEqual({
      code: 0,
      output: expect.stringMatching(/^checkpoint 1: 3 chains, root [0-9a-f]{64}$/),
    });
    const proofs = await Promise.all(subjects.map(verifyAsCitizen));
    for (const proof of proofs) {
      expect(proof.checkpoint).toMatchObject({ seq: 1, size: 3, prevRoot: '0'.repeat(64) });
      expect(proof.leaf.seq).toBe(3);
    }
    expect(new Set(proofs.map((p) => p.leaf.index))).toEqual(new Set([0, 1, 2]));
    const published = (await vault.http.get('/v1/access-log/checkpoints').expect(200)).body;
    expect(published.checkpoints).toEqual([proofs[0].checkpoint]);
  });

  it('covers in the next checkpoint only the chains that grew, linked to the previous root', async () => {
    const first = (await vault.http.get('/v1/access-log/checkpoints').expect(200)).body.checkpoints[0];
    await appendFor('ben');
    expect((await cli('audit:checkpoint')).output).toMatch(/^checkpoint 2: 1 chains, root /);
    expect((await cli('audit:checkpoint')).output).toBe('No chain grew since the last checkpoint.');

    const ben = await verifyAsCitizen('ben');
    expect(ben.checkpoint).toMatchObject({ seq: 2, size: 1, prevRoot: first.root });
    expect(ben.leaf).toMatchObject({ seq: 4, index: 0 });
    expect((await verifyAsCitizen('ana')).checkpoint.seq).toBe(1);

    const page = (await vault.http.get('/v1/access-log/checkpoints?limit=1').expect(200)).body;
    expect(page.checkpoints.map((c: { seq: number }) => c.seq)).toEqual([2]);
    expect(page.nextBefore).toBe(2);
    const next = await vault.http.get(`/v1/access-log/checkpoints?limit=1&before=${page.nextBefore}`);
    expect(next.body).toEqual({ checkpoints: [first], nextBefore: null });
    expect(await cli('audit:verify')).toEqual({
      code: 0,
      output: 'OK: 3 chains, 10 entries, 2 signed checkpoints verified.',
    });
  });

  it('checks the checkpoints against public keys and roots kept off the platform', async () => {
    const published = (await vault.http.get('/v1/access-log/checkpoints').expect(200)).body.checkpoints;
    const kept = published.map((c: { seq: number; root: string }) => `${c.seq}:${c.root}`).join(',');
    const jwksFile = join(mkdtempSync(join(tmpdir(), 'jwks-')), 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify((await vault.http.get('/.well-known/jwks.json')).body));
    expect((await cli('audit:verify', '--jwks', jwksFile, '--expect', kept)).code).toBe(0);

    // A root the auditor kept that the platform no longer shows, or a checkpoint gone.
    expect(await cli('audit:verify', '--expect', `1:${'ab'.repeat(32)}`)).toEqual({
      code: 1,
      output: 'BROKEN: checkpoint 1: its root is not the one kept',
    });
    expect(await cli('audit:verify', '--expect', `9:${'ab'.repeat(32)}`)).toEqual({
      code: 1,
      output: 'BROKEN: checkpoint 9: missing',
    });
    // Keys that are not the platform's.
    const { publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(
      jwksFile,
      JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'dev-signing' }] }),
    );
    expect(await cli('audit:verify', '--jwks', jwksFile)).toEqual({
      code: 1,
      output: 'BROKEN: checkpoint 1: the signature does not verify with the keys given',
    });
    expect((await cli('audit:verify', '--expect', '1:nothex')).code).toBe(2);
    expect((await cli('audit:verify', '--jwks', '/nonexistent/jwks.json')).code).toBe(2);
  });

  it('names growth stamped before the look-back that no checkpoint covered, until a full checkpoint does', async () => {
    const latest = (await vault.http.get('/v1/access-log/checkpoints?limit=1').expect(200)).body
      .checkpoints[0];
    const dan = (
      await vault.http
        .get('/v1/me/export')
        .set(await vault.auth('dan'))
        .expect(200)
    ).body.profile.id;
    // An entry whose app clock was two hours behind: the next checkpoint's look-back misses it.
    await vault.dataSource.transaction((em) =>
      vault.app
        .get(AccessLogService)
        .append(em, entryFor(dan), new Date(Date.parse(latest.at) - 2 * 3600_000)),
    );
    expect((await cli('audit:checkpoint')).output).toBe('No chain grew since the last checkpoint.');
    expect(await cli('audit:verify')).toEqual({
      code: 1,
      output: [
        `UNCOVERED: citizen ${dan}, seq 1: older than the checkpoints' look-back, in none`,
        'Run `npm run cli -- audit:checkpoint --full` to cover them.',
      ].join('\n'),
    });
    expect((await cli('audit:checkpoint', '--full')).output).toMatch(/^checkpoint 3: 1 chains, root /);
    expect((await cli('audit:verify')).code).toBe(0);
  });

  it('splits a large publication into consecutive linked checkpoints', async () => {
    for (const subject of subjects) await appendFor(subject);
    const published = await vault.app.get(AccessLogCheckpoints).publish({ maxLeaves: 2 });
    expect(published.map((c) => [c.seq, c.size])).toEqual([
      [4, 2],
      [5, 1],
    ]);
    expect(published[1].prevRoot).toBe(published[0].root);
    for (const subject of subjects)
      expect((await verifyAsCitizen(subject)).leaf.seq).toBe(subject === 'ben' ? 5 : 4);
    expect(await cli('audit:verify')).toEqual({
      code: 0,
      output: 'OK: 4 chains, 14 entries, 5 signed checkpoints verified.',
    });
  });

  it('is published by the scheduler once a period has passed since the last checkpoint', async () => {
    const config = AppConfig.fromEnvironment(testEnv(db, idp, { ACCESS_LOG_CHECKPOINT_MINUTES: '60' }));
    const publisher = new CheckpointPublisher(config, vault.app.get(AccessLogCheckpoints));
    await appendFor('cleo');
    const latest = (await vault.http.get('/v1/access-log/checkpoints?limit=1').expect(200)).body
      .checkpoints[0];
    const at = Date.parse(latest.at);
    expect(await publisher.publishIfDue(new Date(at + 59 * 60_000))).toEqual([]);
    expect(await publisher.publishIfDue(new Date(at + 60 * 60_000))).toEqual([6]);
    expect((await verifyAsCitizen('cleo')).leaf.seq).toBe(5);
  });

  it('refuses bad paging parameters with a problem', async () => {
    for (const query of ['limit=0', 'limit=201', 'before=abc', 'before=-1', 'colour=red']) {
      const response = await vault.http.get(`/v1/access-log/checkpoints?${query}`).expect(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('keeps checkpoints append-only, for the application role and for anyone while the trigger stands', async () => {
    await superuser(async (client) => {
      for (const table of ['access_log_checkpoint', 'access_log_checkpoint_leaf']) {
        await client.query('BEGIN');
        await client.query('SET LOCAL ROLE unefois_app');
        await expect(client.query(`DELETE FROM ${table}`)).rejects.toThrow(/permission denied/);
        await client.query('ROLLBACK');
        await expect(client.query(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
      }
    });
  });

  it('catches a chain rewritten with every later hash recomputed, and a checkpoint edited to match', async () => {
    const victim = ids.ana;
    // An intruder with superuser rights rewrites entry 2 and recomputes 2 and 3: the chain alone holds.
    await superuser(async (client) => {
      await client.query('BEGIN');
      await client.query(`SET LOCAL session_replication_role = replica`);
      const { rows } = await client.query(
        `SELECT citizen_id AS "citizenId", seq::int, at, service_id AS "serviceId", organisation_id AS "organisationId",
                purpose, request_id AS "requestId", attributes, outcome, released, withheld, basis, prev_hash AS "prevHash"
           FROM access_log_entry WHERE citizen_id = $1 ORDER BY seq`,
        [victim],
      );
      let prev = rows[0].prevHash as string;
      for (const row of rows) {
        if (row.seq === 2) row.purpose = 'tax-credit';
        const hash = entryHash(prev, row);
        await client.query(
          `UPDATE access_log_entry SET purpose = $3, prev_hash = $4, hash = $5 WHERE citizen_id = $1 AND seq = $2`,
          [victim, row.seq, row.purpose, prev, hash],
        );
        prev = hash;
      }
      await client.query('COMMIT');
    });
    expect(await cli('audit:verify')).toEqual({
      code: 1,
      output: `BROKEN: checkpoint 1: a chain entry no longer matches the signed checkpoint (citizen ${victim}, seq 3)`,
    });

    // Editing the stored leaf to match does not help: the signed root no longer follows.
    await superuser(async (client) => {
      await client.query('BEGIN');
      await client.query(`SET LOCAL session_replication_role = replica`);
      await client.query(
        `UPDATE access_log_checkpoint_leaf l SET hash = e.hash FROM access_log_entry e
          WHERE l.citizen_id = $1 AND e.citizen_id = l.citizen_id AND e.seq = l.seq`,
        [victim],
      );
      await client.query('COMMIT');
    });
    expect(await cli('audit:verify')).toEqual({
      code: 1,
      output: 'BROKEN: checkpoint 1: its leaves are not the ones signed',
    });
  });
});
