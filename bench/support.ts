/**
 * What the benchmarks share: throwaway production secrets and service keys,
 * a fresh database per run, child processes from the build, CPU readings
 * from /proc, and their sections of docs/benchmarks.md.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { importJWK, type JWK, SignJWT } from 'jose';
import autocannon from 'autocannon';
import pg from 'pg';

export const log = (line: string) => process.stdout.write(`${line}\n`);

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Production mode (no development shortcuts), with throwaway secrets made for this run. */
export const SECRETS: Record<string, string> = {
  NODE_ENV: 'production',
  MASTER_KEYS: `bench:1:${randomBytes(32).toString('base64')}`,
  PAIRWISE_SECRET: randomBytes(32).toString('hex'),
  SIGNING_KEYS: JSON.stringify([
    { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'bench-1' },
  ]),
  BROKER_URL: 'http://127.0.0.1',
  VAULT_URL: 'http://127.0.0.1',
  CITIZEN_ISSUER: 'https://auth.example',
  CITIZEN_JWKS_URI: 'https://auth.example/jwks.json',
  LOG_LEVEL: 'warn',
};

/** The broker's alone: every other process (the CLI, the scheduler, a baseline app) refuses to boot with it. */
export const BROKER_SECRETS: Record<string, string> = {
  ACCESS_TOKEN_SIGNING_KEYS: JSON.stringify([
    { ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'bench-tokens-1' },
  ]),
};

/**
 * The demo registry with keys made for this run: production refuses the demo
 * keys (their private halves are committed). Each service signs with its own.
 */
const serviceKeys = new Map<string, JWK & { kid: string }>();
function serviceKey(id: string): JWK & { kid: string } {
  let key = serviceKeys.get(id);
  if (!key) {
    key = {
      ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
      kid: `${id}-bench`,
    } as JWK & { kid: string };
    serviceKeys.set(id, key);
  }
  return key;
}

function benchRegistryFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'une-fois-bench-')), 'registry.yaml');
  const text = readFileSync('config/registry.yaml', 'utf8').replace(
    /(- id: ([\w-]+)\n(?:(?! {2}- id:).*\n)*? {4}jwks: )\{ keys: \[.*\] \}/g,
    (_all, head: string, id: string) => {
      const { d: _d, ...publicJwk } = serviceKey(id);
      return `${head}{ keys: [${JSON.stringify(publicJwk)}] }`;
    },
  );
  writeFileSync(file, text);
  return file;
}

/** Drops and recreates the run's database, migrated, with the registry under this run's service keys. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const server = new URL(databaseUrl);
  const name = server.pathname.slice(1);
  server.pathname = '/postgres';
  const client = new pg.Client({ connectionString: server.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${name}"`);
  await client.end();
  cli(databaseUrl, 'migration:run');
  applyBenchRegistry(databaseUrl);
}

/** Applies the registry under this run's service keys (a database seeded by an earlier run holds that run's). */
export function applyBenchRegistry(databaseUrl: string): void {
  cli(databaseUrl, `registry:apply ${benchRegistryFile()}`);
}

/** A command of the built CLI against the database, with this run's secrets. */
function cli(databaseUrl: string, command: string): void {
  execSync(`node dist/apps/cli/src/main.js ${command}`, {
    env: { ...process.env, ...SECRETS, DATABASE_URL: databaseUrl },
    stdio: 'ignore',
  });
}

/** Starts a built script in production mode with this run's secrets; resolves once `healthUrl` answers. */
export async function startProcess(
  script: string,
  healthUrl: string,
  extraEnv: Record<string, string>,
): Promise<ChildProcess> {
  const child = spawn(
    'node',
    [...(process.env.BENCH_NODE_OPTIONS ? process.env.BENCH_NODE_OPTIONS.split(' ') : []), script],
    {
      env: { ...process.env, ...SECRETS, APPLY_REGISTRY_AT_BOOT: 'false', ...extraEnv },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(healthUrl)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill();
  throw new Error(`${script} did not start`);
}

/** A service's access token from the broker at `port`, by client assertion with this run's key. */
export async function accessToken(port: number, service: string): Promise<string> {
  const jwk = serviceKey(service);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
    .setIssuer(service)
    .setSubject(service)
    .setAudience(`http://127.0.0.1:${port}/oauth/token`)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .sign(await importJWK(jwk, 'ES256'));
  const response = await fetch(`http://127.0.0.1:${port}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  if (!response.ok) throw new Error(`token refused: ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export const procfs = existsSync('/proc/self/stat');
/** The unit of /proc's CPU times (USER_HZ). */
const CLOCK_TICKS = procfs ? Number(execSync('getconf CLK_TCK').toString()) : 100;

/**
 * CPU time (user + system, ms) a process has used, from /proc/PID/stat:
 * per unit of work, it shows where the time goes and what bounds throughput.
 */
export function cpuMs(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS); // utime, stime
}

/** Busy CPU time (ms) of the whole machine so far, from /proc/stat: user, system and interrupts. */
export function machineCpuMs(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq) * (1000 / CLOCK_TICKS);
}

/** "Measured <date> UTC on <cores> × <CPU>, <memory>, Node, PostgreSQL" for a section's first line. */
export function machineLine(databaseUrl: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const pgVersion = execSync(`psql "${databaseUrl}" -tAc "SHOW server_version"`).toString().trim();
  return `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpu},
${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, PostgreSQL ${pgVersion}.`;
}

const BENCHMARKS_FILE = 'docs/benchmarks.md';
const HEADER = `# Benchmarks

Each section is written by the benchmark it names (\`npm run bench:<name>\`); running one replaces its
own section and leaves the others.
`;

/** Replaces (or adds) the section of docs/benchmarks.md that benchmark `name` owns. */
export function writeSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const current = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : '';
  const section = `${begin}\n${markdown.trim()}\n${end}`;
  const at = current.indexOf(begin);
  const next =
    at >= 0 && current.indexOf(end, at) > at
      ? current.slice(0, at) + section + current.slice(current.indexOf(end, at) + end.length)
      : `${current.startsWith('# Benchmarks') ? current.trimEnd() : HEADER}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_FILE, next);
}

export interface Measure {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
  /**
   * CPU time per request, in ms (Linux only): the app under test, the load
   * generator (this process), and the whole machine (both, PostgreSQL, the kernel).
   */
  appCpu: number;
  loadCpu: number;
  machineCpu: number;
}

export interface Load {
  /** The process under test, whose CPU is read. */
  pid: number;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** The i-th request's JSON body (POST). */
  body?: (i: number) => string;
  /** The i-th request's own headers, over `headers`. */
  headersFor?: (i: number) => Record<string, string>;
  seconds: number;
  connections: number;
}

/** Runs autocannon against one app and reads the CPU it took. */
export async function load(run: Load): Promise<Measure> {
  let i = 0;
  const { pid } = run;
  const cpuBefore = procfs ? [cpuMs(pid), cpuMs(process.pid), machineCpuMs()] : [];
  const result = await autocannon({
    url: run.url,
    connections: run.connections,
    duration: run.seconds,
    requests: [
      {
        method: run.method ?? 'POST',
        headers: { ...(run.body ? { 'content-type': 'application/json' } : {}), ...run.headers },
        setupRequest: (request) => {
          const n = i++;
          return {
            ...request,
            ...(run.body ? { body: run.body(n) } : {}),
            headers: { ...request.headers, ...run.headersFor?.(n) },
          };
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
    appCpu: procfs ? (cpuMs(pid) - cpuBefore[0]) / result.requests.total : NaN,
    loadCpu: procfs ? (cpuMs(process.pid) - cpuBefore[1]) / result.requests.total : NaN,
    machineCpu: procfs ? (machineCpuMs() - cpuBefore[2]) / result.requests.total : NaN,
  };
}

/** The run of median throughput. */
export function median(runs: Measure[]): Measure {
  return [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)];
}

/**
 * The citizens' identity provider of a run: a JWKS over loopback and ES256
 * tokens for the `bench` issuer, which is what the seeded citizens' rows
 * name. The vault is started with `env` to trust it.
 */
export async function startCitizenIssuer() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-citizens-1', alg: 'ES256', use: 'sig' };
  const server = createHttpServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const audience = 'urn:une-fois:vault';
  return {
    env: {
      CITIZEN_ISSUER: 'bench',
      CITIZEN_JWKS_URI: `http://127.0.0.1:${port}/jwks.json`,
      CITIZEN_AUDIENCE: audience,
    },
    /** A token for the citizen seeded with this subject, valid two hours. */
    token: (subject: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
        .setIssuer('bench')
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
