/**
 * A PostgreSQL server of the benchmark's own, configured as a database host
 * serving a province would be: a quarter of the machine's memory for its
 * buffers, in huge pages, checkpoints spread out, full-page images
 * compressed, autovacuum on. A server left at its defaults (128 MB of
 * buffers, a checkpoint per gigabyte of WAL) measures its configuration
 * rather than the platform once the data outgrows its buffers: see
 * docs/scaling.md.
 *
 * Huge pages: each backend maps the buffers it touches, 4 KB at a time
 * without them, and at a million citizens the requests touch pages all over
 * the buffers. As root, the host reserves the huge pages the server needs
 * (vm.nr_hugepages) while it runs and gives them back when it stops;
 * otherwise it uses those already reserved, or runs without
 * (BENCH_HUGE_PAGES=0 too). The section the benchmark writes says which.
 *
 * Built from the PostgreSQL binaries of this machine (BENCH_PG_BINDIR, or the
 * newest under /usr/lib/postgresql), in BENCH_PG_DATA
 * (/var/tmp/une-fois-bench-pg), kept between runs so that BENCH_REUSE=1 can
 * use what an earlier run seeded. As root, the server runs as `postgres`
 * (PostgreSQL refuses root).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './support.js';

const env = process.env;
const DATA = env.BENCH_PG_DATA ?? '/var/tmp/une-fois-bench-pg';

export interface DatabaseHost {
  /** The server's URL with no database (append `/name`). */
  url: string;
  stop(): void;
}

function binDir(): string {
  if (env.BENCH_PG_BINDIR) return env.BENCH_PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      `no PostgreSQL server binaries under ${root}: set BENCH_PG_BINDIR, or BENCH_DATABASE_URL`,
    );
  return join(root, versions[0], 'bin');
}

const NR_HUGEPAGES = '/proc/sys/vm/nr_hugepages';

/**
 * Reserves the huge pages the server's shared memory takes (`needed`, as
 * `postgres -C shared_memory_size_in_huge_pages` counts them): whether it
 * could, and how to give back what it reserved.
 */
function reserveHugePages(needed: number): { on: boolean; release: () => void } {
  const none = { on: false, release: () => undefined };
  if (env.BENCH_HUGE_PAGES === '0' || !(needed > 0) || !existsSync(NR_HUGEPAGES)) return none;
  const before = Number(readFileSync(NR_HUGEPAGES, 'utf8'));
  if (before >= needed) return { on: true, release: () => undefined };
  if (userInfo().uid !== 0) return none;
  const release = () => writeFileSync(NR_HUGEPAGES, String(before));
  try {
    writeFileSync(NR_HUGEPAGES, String(needed));
  } catch {
    return none;
  }
  // The kernel reserves what free memory allows, which may be less than asked.
  if (Number(readFileSync(NR_HUGEPAGES, 'utf8')) >= needed) return { on: true, release };
  release();
  return none;
}

/** Runs a PostgreSQL binary, as `postgres` when this process is root. */
function run(bin: string, args: string[]): string {
  const asRoot = userInfo().uid === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startDatabaseHost(): Promise<DatabaseHost> {
  const bin = binDir();
  const version = Number(/(\d+)/.exec(run(join(bin, 'postgres'), ['--version']))![1]);
  const mb = (bytes: number) => `${Math.floor(bytes / 2 ** 20)}MB`;
  const settings: Record<string, string> = {
    shared_buffers: mb(totalmem() / 4),
    effective_cache_size: mb(totalmem() / 2),
    max_wal_size: '8GB',
    checkpoint_timeout: '15min',
    // lz4 from PostgreSQL 15; before it, pglz.
    wal_compression: version >= 15 ? 'lz4' : 'on',
    autovacuum: 'on',
  };
  if (!existsSync(join(DATA, 'PG_VERSION'))) {
    mkdirSync(DATA, { recursive: true });
    if (userInfo().uid === 0) {
      const ids = (key: 'u' | 'g') =>
        Number(execFileSync('id', [`-${key}`, 'postgres'], { encoding: 'utf8' }));
      chownSync(DATA, ids('u'), ids('g'));
    }
    run(join(bin, 'initdb'), [
      '-D',
      DATA,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ]);
  }
  try {
    // A server an interrupted run left running.
    run(join(bin, 'pg_ctl'), ['stop', '-m', 'fast', '-w', '-D', DATA]);
  } catch {
    // none
  }
  // PostgreSQL counts the huge pages its shared memory takes from version 15.
  const hugePages = reserveHugePages(
    version >= 15
      ? Number(
          run(join(bin, 'postgres'), [
            '-C',
            'shared_memory_size_in_huge_pages',
            '-D',
            DATA,
            '-c',
            `shared_buffers=${settings.shared_buffers}`,
          ]).trim(),
        )
      : 0,
  );
  settings.huge_pages = hugePages.on ? 'on' : 'off';
  const port = await freePort();
  const options = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${DATA}`,
    ...Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`),
  ].join(' ');
  run(join(bin, 'pg_ctl'), [
    'start',
    '-w',
    '-t',
    '120',
    '-D',
    DATA,
    '-l',
    join(DATA, 'server.log'),
    '-o',
    options,
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}`,
    stop: () => {
      run(join(bin, 'pg_ctl'), ['stop', '-m', 'fast', '-w', '-D', DATA]);
      hugePages.release();
    },
  };
}
