import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { DataSource, type DataSourceOptions } from 'typeorm';
import {
  AccessLogCheckpoints,
  AccessLogEntry,
  auditAccessLog,
  auditCheckpoints,
  storedRoots,
} from '#libs/access-log';
import { applyRegistry, loadRegistryFiles, RegistryFileError, RegistryRefusedError } from '#libs/catalogue';
import { AppConfig, ConfigError } from '#libs/config';
import { MasterKeyring, PlatformSigner } from '#libs/crypto';
import { dataSourceOptions } from '#libs/database';
import {
  ErasureRegisterFileError,
  ErasureService,
  formatErasureRegister,
  parseErasureRegister,
  readErasureRegister,
  type RegisteredErasure,
} from '#libs/erasure';
import { mintDevCitizenToken } from '#libs/identity';
import { OutboxRelayService } from '#libs/outbox';
import { CitizenKey, DataKeysService } from '#libs/vault';
import { seedDemo } from './demo-seed.js';
import { domainContext } from './domain-context.js';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

type Env = Record<string, string | undefined>;
type Command = (config: AppConfig, args: string[], io: Output, env: Env) => Promise<number>;

const USAGE = `Usage: npm run cli -- <command>

  migration:run                     apply pending migrations to DATABASE_URL
  migration:revert                  revert the latest migration
  registry:apply FILE [--catalogue FILE] [--allow-demo-keys]
                                    validate and apply a registry (and catalogue, default CATALOGUE_FILE); idempotent;
                                    refused with a private key, and with a demo key (config/demo) unless
                                    --allow-demo-keys is given (a demo or test database; never in production)
  audit:verify [--jwks FILE] [--expect SEQ:ROOT[,SEQ:ROOT…]]
                                    recompute every citizen's access-log chain and check every signed checkpoint
                                    (with the public keys of FILE, default the configured ones, and against the
                                    checkpoints kept off the platform); name the first broken citizen and seq, or
                                    checkpoint, and any growth no checkpoint covered in time
  audit:checkpoint [--full]         sign and store checkpoints over the chains that grew since the last one
                                    (--full: over every chain not yet covered)
  keys:rotate [--batch N]           re-wrap every data key under the newest master key of MASTER_KEYS,
                                    N keys a transaction (default 500), while the apps keep serving
  erasure:replay [--from URL] [--register FILE]
                                    after a restore, before opening traffic: re-apply to DATABASE_URL every erasure
                                    of its own register, of the register of the database at URL (the one the
                                    backup replaces) and of FILE (as erasure:export wrote it); idempotent
  erasure:export                    print the erasure register (citizen id and time, one a line), to keep off the
                                    platform beside the backups
  metrics:resend --from DATE --to DATE
                                    send again to the barometer the metric events written on those Montréal days
                                    (YYYY-MM-DD, both included): a backfill; a barometer that holds them ignores them
  dev:token --sub SUBJECT [--ttl SECONDS]
                                    print a citizen token of the development issuer (not in production)
  demo:seed [FILE]                  load demo citizens (default config/demo/citizens.yaml; not in production)`;

async function withDataSource<T>(
  config: AppConfig | { databaseUrl: string },
  work: (dataSource: DataSource) => Promise<T>,
  entities: DataSourceOptions['entities'] = [],
): Promise<T> {
  const dataSource = await new DataSource({
    ...dataSourceOptions(config.databaseUrl),
    entities,
  }).initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** `--expect 12:ROOT,40:ROOT`: checkpoints an auditor kept off the platform; [] when absent, null when malformed. */
function parseExpectations(value: string | undefined): { seq: number; root: string }[] | null {
  if (value === undefined) return [];
  const expectations = value.split(',').map((item) => /^(\d+):([0-9a-f]{64})$/.exec(item.trim()));
  if (expectations.some((match) => !match)) return null;
  return expectations.map((match) => ({ seq: Number(match![1]), root: match![2] }));
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

/** A calendar day `YYYY-MM-DD` that exists; null otherwise. */
function calendarDay(value: string | undefined): string | null {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value) ? value : null;
}

const COMMANDS: Record<string, Command> = {
  'migration:run': (config, _args, io) =>
    withDataSource(config, async (dataSource) => {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      io.out(
        applied.length === 0 ? 'No pending migration.' : applied.map((m) => `applied ${m.name}`).join('\n'),
      );
      return 0;
    }),

  'migration:revert': (config, _args, io) =>
    withDataSource(config, async (dataSource) => {
      await dataSource.undoLastMigration({ transaction: 'each' });
      io.out('Reverted the latest migration.');
      return 0;
    }),

  'registry:apply': async (config, args, io) => {
    const registryFile = args.find((arg, i) => !arg.startsWith('--') && args[i - 1] !== '--catalogue');
    const unknown = args.filter(
      (arg) => arg.startsWith('--') && !['--catalogue', '--allow-demo-keys'].includes(arg),
    );
    if (!registryFile || unknown.length > 0) {
      io.err(
        unknown.length > 0
          ? `registry:apply: unknown option ${unknown.join(', ')}`
          : 'registry:apply needs a registry FILE',
      );
      return 2;
    }
    const { registry, catalogue } = loadRegistryFiles(
      registryFile,
      option(args, '--catalogue') ?? config.catalogueFile,
    );
    const result = await withDataSource(config, (dataSource) =>
      applyRegistry(dataSource, registry, catalogue, {
        appliedBy: 'cli',
        production: config.production,
        // On purpose only: this CLI's NODE_ENV says nothing of the database it writes to.
        allowDemoKeys: args.includes('--allow-demo-keys'),
      }),
    );
    io.out(
      result.changed
        ? `Applied as registry version ${result.version}: ${registry.organisations.length} organisations, ${registry.services.length} services, ${registry.legal_bases.length} legal bases.`
        : `Unchanged: registry version ${result.version} already has this content.`,
    );
    return 0;
  },

  'keys:rotate': async (config, args, io) => {
    const batch = Number(option(args, '--batch') ?? 500);
    if (!Number.isInteger(batch) || batch < 1) {
      io.err('keys:rotate --batch takes a whole number ≥ 1');
      return 2;
    }
    return withDataSource(
      config,
      async (dataSource) => {
        const keyring = new MasterKeyring(config.masterKeys);
        const result = await new DataKeysService(dataSource, keyring).rotateAll(batch);
        io.out(
          `Re-wrapped ${result.rotated} data keys under ${keyring.current.id} v${keyring.current.version}; ` +
            `${result.remainingOnOldVersions} remain on older versions.`,
        );
        return result.remainingOnOldVersions === 0 ? 0 : 1;
      },
      [CitizenKey],
    );
  },

  'demo:seed': async (config, args, io, env) => {
    if (config.production) {
      io.err('demo:seed is refused in production');
      return 1;
    }
    for (const line of await seedDemo(env, args[0] ?? 'config/demo/citizens.yaml')) {
      io.out(line);
    }
    return 0;
  },

  'audit:verify': async (config, args, io) => {
    const expected = parseExpectations(option(args, '--expect'));
    const jwksFile = option(args, '--jwks');
    let keys: JWK[];
    try {
      keys = jwksFile
        ? (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: JWK[] }).keys
        : new PlatformSigner(config.signingKeys).jwks().keys;
      if (!Array.isArray(keys)) throw new Error('no "keys" array');
    } catch (error) {
      io.err(`--jwks ${jwksFile}: not a readable JWKS (${(error as Error).message})`);
      return 2;
    }
    if (!expected) {
      io.err('--expect takes SEQ:ROOT[,SEQ:ROOT…], each root 64 hex digits');
      return 2;
    }
    return withDataSource(
      config,
      async (dataSource) => {
        const result = await auditAccessLog(dataSource);
        if (result.broken) {
          io.err(`BROKEN: citizen ${result.broken.citizenId}, seq ${result.broken.seq}`);
          return 1;
        }
        const signed = await auditCheckpoints(dataSource, keys);
        if (signed.broken) {
          const { checkpoint, reason, citizenId, seq } = signed.broken;
          io.err(
            `BROKEN: checkpoint ${checkpoint}: ${reason}${citizenId ? ` (citizen ${citizenId}, seq ${seq})` : ''}`,
          );
          return 1;
        }
        const published = await storedRoots(
          dataSource,
          expected.map((e) => e.seq),
        );
        for (const { seq, root } of expected) {
          if (published.get(seq) !== root) {
            io.err(
              `BROKEN: checkpoint ${seq}: ${published.has(seq) ? 'its root is not the one kept' : 'missing'}`,
            );
            return 1;
          }
        }
        for (const { citizenId, seq } of signed.uncovered)
          io.err(
            `UNCOVERED: citizen ${citizenId}, seq ${seq}: older than the checkpoints' look-back, in none`,
          );
        if (signed.uncovered.length > 0) {
          io.err('Run `npm run cli -- audit:checkpoint --full` to cover them.');
          return 1;
        }
        io.out(
          `OK: ${result.chains} chains, ${result.entries} entries, ${signed.checkpoints} signed checkpoints verified.`,
        );
        return 0;
      },
      [AccessLogEntry],
    );
  },

  'audit:checkpoint': (config, args, io) =>
    withDataSource(config, async (dataSource) => {
      const published = await new AccessLogCheckpoints(
        dataSource,
        new PlatformSigner(config.signingKeys),
      ).publish({
        full: args.includes('--full'),
      });
      for (const checkpoint of published)
        io.out(`checkpoint ${checkpoint.seq}: ${checkpoint.size} chains, root ${checkpoint.root}`);
      if (published.length === 0) io.out('No chain grew since the last checkpoint.');
      return 0;
    }),

  'erasure:replay': async (_config, args, io, env) => {
    const from = option(args, '--from');
    const file = option(args, '--register');
    if ((args.includes('--from') && !from) || (args.includes('--register') && !file)) {
      io.err('erasure:replay takes --from DATABASE_URL and --register FILE, each with a value');
      return 2;
    }
    const sources: RegisteredErasure[][] = [];
    if (file) sources.push(parseErasureRegister(readFileSync(file, 'utf8'), file));
    if (from) sources.push(await withDataSource({ databaseUrl: from }, readErasureRegister));
    const app = await domainContext(env);
    try {
      const erasure = app.get(ErasureService);
      // The earliest time of each citizen's erasure, wherever it was registered.
      const merged = new Map<string, RegisteredErasure>();
      for (const entry of [await erasure.register(), ...sources].flat()) {
        const known = merged.get(entry.citizenId);
        if (!known || entry.erasedAt < known.erasedAt) merged.set(entry.citizenId, entry);
      }
      const result = await erasure.replay([...merged.values()]);
      io.out(
        `Re-applied ${result.replayed} erasures; ${result.restoredKeysDestroyed} restored data keys destroyed.`,
      );
      return 0;
    } finally {
      await app.close();
    }
  },

  'erasure:export': (config, _args, io) =>
    withDataSource(config, async (dataSource) => {
      for (const line of formatErasureRegister(await readErasureRegister(dataSource))) io.out(line);
      return 0;
    }),

  'metrics:resend': async (config, args, io) => {
    const from = calendarDay(option(args, '--from'));
    const to = calendarDay(option(args, '--to'));
    if (!from || !to || to < from) {
      io.err('metrics:resend needs --from DATE --to DATE, days YYYY-MM-DD with --to not before --from');
      return 2;
    }
    return withDataSource(config, async (dataSource) => {
      const resent = await new OutboxRelayService(dataSource, config).resendMetrics(from, to);
      io.out(
        `${resent} metric events of ${from} to ${to} (Montréal days) will be sent again by the scheduler's relay.`,
      );
      return 0;
    });
  },

  'dev:token': async (config, args, io) => {
    const subject = option(args, '--sub');
    const ttl = Number(option(args, '--ttl') ?? 8 * 3600);
    if (!subject || !Number.isInteger(ttl) || ttl <= 0) {
      io.err('dev:token needs --sub SUBJECT (and optionally --ttl SECONDS)');
      return 2;
    }
    io.out(await mintDevCitizenToken(config, subject, ttl));
    return 0;
  },
};

export async function runCli(argv: string[], env: Env, io: Output): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(USAGE);
    return name ? 2 : 0;
  }
  try {
    return await command(AppConfig.fromEnvironment(env), args, io, env);
  } catch (error) {
    if (
      error instanceof RegistryFileError ||
      error instanceof RegistryRefusedError ||
      error instanceof ConfigError ||
      error instanceof ErasureRegisterFileError
    ) {
      io.err(error.message);
      return 1;
    }
    io.err(`${name} failed: ${(error as Error).message}`);
    return 1;
  }
}
