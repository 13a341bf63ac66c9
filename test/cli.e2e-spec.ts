import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { applyRegistry, loadRegistryFiles } from '#libs/catalogue';
import { dataSourceOptions, MIGRATIONS } from '#libs/database';
import { runCli } from '../apps/cli/src/commands.js';
import { VaultAppModule } from '../apps/vault/src/vault-app.module.js';
import { createTestDatabase, databaseUrl, type TestDatabase } from './support/database.js';
import { startVault } from './support/vault-app.js';

async function cli(args: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    args,
    { NODE_ENV: 'test', ...env },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('CLI', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
  });
  afterAll(() => db.drop());

  it('migrates an empty database, reverts and migrates again', async () => {
    const name = `unefois_t_migrate_${Math.floor(Date.now() / 1000)}_${process.pid}`;
    await query(databaseUrl('postgres'), `CREATE DATABASE ${name}`);
    const env = { DATABASE_URL: databaseUrl(name) };
    const tables = async () =>
      (
        await query<{ t: string }>(
          env.DATABASE_URL,
          `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
        )
      ).map((r) => r.t);
    try {
      expect(await cli(['migration:run'], env)).toMatchObject({
        code: 0,
        out: expect.stringContaining('applied Foundation'),
      });
      expect(await tables()).toEqual(
        expect.arrayContaining(['citizen', 'citizen_key', 'attribute_value', 'consent', 'access_log_entry']),
      );
      expect(await cli(['migration:run'], env)).toMatchObject({ code: 0, out: 'No pending migration.' });
      // Each revert undoes exactly the newest migration still applied, down to none.
      const applied = async () =>
        (await query<{ name: string }>(env.DATABASE_URL, 'SELECT name FROM migration ORDER BY id')).map(
          (r) => r.name,
        );
      expect(await applied()).toEqual(MIGRATIONS.map((m) => m.name));
      for (let left = MIGRATIONS.length - 1; left >= 0; left--) {
        expect((await cli(['migration:revert'], env)).code).toBe(0);
        expect(await applied()).toEqual(MIGRATIONS.slice(0, left).map((m) => m.name));
      }
      expect(await tables()).toEqual(['migration']);
      expect((await cli(['migration:run'], env)).code).toBe(0);
      expect(await tables()).toContain('citizen');
    } finally {
      await query(databaseUrl('postgres'), `DROP DATABASE ${name} WITH (FORCE)`);
    }
  });

  it('applies a registry idempotently and versions each change', async () => {
    const env = { DATABASE_URL: db.url };
    const versions = () => query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM registry_version');
    const first = await cli(['registry:apply', 'config/registry.yaml', '--allow-demo-keys'], env);
    expect(first).toMatchObject({ code: 0, out: expect.stringMatching(/6 organisations, 8 services/) });
    const count = (await versions())[0].n;
    expect(await cli(['registry:apply', '--allow-demo-keys', 'config/registry.yaml'], env)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^Unchanged/),
    });
    expect((await versions())[0].n).toBe(count);

    const dir = mkdtempSync(join(tmpdir(), 'registry-'));
    const changed = join(dir, 'registry.yaml');
    writeFileSync(
      changed,
      readFileSync('config/registry.yaml', 'utf8').replace(
        '- id: rq-income-check',
        '- id: rq-income-check-2026',
      ),
    );
    expect(await cli(['registry:apply', changed, '--allow-demo-keys'], env)).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^Applied as registry version/),
    });
    expect((await versions())[0].n).toBe(count + 1);
  });

  it('refuses the demo keys without --allow-demo-keys, whatever NODE_ENV the CLI runs in', async () => {
    const before = await query(db.url, 'SELECT count(*)::int AS n FROM registry_version');
    for (const NODE_ENV of ['development', 'test']) {
      const result = await cli(['registry:apply', 'config/registry.yaml'], {
        DATABASE_URL: db.url,
        NODE_ENV,
      });
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        'service saaq-permis, key 1 (kid saaq-permis-2026): is a demo key, its private half committed under config/demo; applied only with --allow-demo-keys',
      );
      expect(result.err).toContain('service mess-aide, key 1');
    }
    expect(
      await cli(['registry:apply', 'config/registry.yaml', '--allow-demo-key'], { DATABASE_URL: db.url }),
    ).toMatchObject({ code: 2, err: 'registry:apply: unknown option --allow-demo-key' });
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM registry_version')).toEqual(before);
  });

  it('refuses a registry naming an unknown attribute, purpose or service, with the file position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-'));
    const broken = join(dir, 'registry.yaml');
    const text = readFileSync('config/registry.yaml', 'utf8')
      .replace(
        '{ attribute: contact.email, purposes: [licence-renewal], access: read }',
        '{ attribute: contact.fax, purposes: [licence-renewal], access: read }',
      )
      .replace('purposes: [tax-credit]\n', 'purposes: [tax-fraud]\n')
      .replace('service: rq-credits', 'service: rq-unknown');
    writeFileSync(broken, text);
    const lineOf = (needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;
    const before = await query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM registry_version');
    const result = await cli(['registry:apply', broken], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${broken}:${lineOf('contact.fax')}:`);
    expect(result.err).toContain('unknown attribute "contact.fax"');
    expect(result.err).toContain('unknown purpose "tax-fraud"');
    expect(result.err).toContain(`${broken}:${lineOf('rq-unknown')}:`);
    expect(result.err).toContain('unknown service "rq-unknown"');
    expect(await query(db.url, 'SELECT count(*)::int AS n FROM registry_version')).toEqual(before);
  });

  it('never applies REGISTRY_FILE from erasure:replay, which reads the registry in force', async () => {
    const own = await createTestDatabase('clireplay');
    try {
      // The latest version was applied at boot: an app's boot apply would replace it with an edited file.
      const dataSource = await new DataSource(dataSourceOptions(own.url)).initialize();
      try {
        const { registry, catalogue } = loadRegistryFiles('config/registry.yaml', 'config/catalogue.yaml');
        await applyRegistry(dataSource, registry, catalogue, {
          appliedBy: 'boot',
          production: false,
          allowDemoKeys: true,
        });
      } finally {
        await dataSource.destroy();
      }
      const edited = join(mkdtempSync(join(tmpdir(), 'registry-')), 'registry.yaml');
      writeFileSync(
        edited,
        readFileSync('config/registry.yaml', 'utf8').replace(
          '- id: rq-income-check',
          '- id: rq-income-check-2',
        ),
      );
      const versions = () => query(own.url, 'SELECT version, applied_by FROM registry_version ORDER BY 1');
      const before = await versions();
      expect(before).toEqual([{ version: 1, applied_by: 'boot' }]);
      const replay = await cli(['erasure:replay'], {
        DATABASE_URL: own.url,
        REGISTRY_FILE: edited,
        APPLY_REGISTRY_AT_BOOT: 'true',
        LOG_LEVEL: 'silent',
      });
      expect(replay).toMatchObject({ code: 0, out: expect.stringMatching(/^Re-applied 0 erasures/) });
      expect(await versions()).toEqual(before);
    } finally {
      await own.drop();
    }
  });

  it('prints a dev token the vault accepts, and refuses in production', async () => {
    const vault = await startVault('cli', { db, env: { CITIZEN_ISSUER: '', CITIZEN_JWKS_URI: '' } });
    try {
      const printed = await cli(['dev:token', '--sub', 'alice'], vault.env);
      expect(printed.code).toBe(0);
      await vault.http.get('/v1/me').set('Authorization', `Bearer ${printed.out}`).expect(200);
      const production = await cli(['dev:token', '--sub', 'alice'], { ...vault.env, NODE_ENV: 'production' });
      expect(production.code).toBe(1);
      expect(production.err).toMatch(/MASTER_KEYS: required when NODE_ENV=production/);
    } finally {
      await vault.close();
    }
  });

  it('stops the boot on a bad configuration value, naming the variable', () => {
    expect(() => VaultAppModule.forRoot({ VAULT_PORT: 'abc' })).toThrow(/VAULT_PORT/);
    expect(() => VaultAppModule.forRoot({ DATABASE_URL: 'mysql://localhost/x' })).toThrow(/DATABASE_URL/);
    expect(() => VaultAppModule.forRoot({ NODE_ENV: 'production' })).toThrow(/CITIZEN_JWKS_URI: required/);
  });
});
