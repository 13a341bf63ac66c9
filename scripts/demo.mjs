#!/usr/bin/env node
// `npm run demo`: the whole platform on this machine with demo data.
// Builds, creates and migrates the database, applies the demo registry, loads
// the demo citizens, starts the four apps, then prints their URLs and a
// citizen token. Ctrl-C stops everything.
import { spawn, spawnSync } from 'node:child_process';
import pg from 'pg';

const APPS = [
  ['vault', 'VAULT_PORT', 3001],
  ['broker', 'BROKER_PORT', 3002],
  ['barometer', 'BAROMETER_PORT', 3003],
  ['scheduler', 'SCHEDULER_PORT', 3004],
];
// Development mode unless told otherwise: the demo runs on the development keys and issuer.
const env = { NODE_ENV: 'development', LOG_LEVEL: 'warn', ...process.env };
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/unefois';

function step(title, command, args) {
  process.stdout.write(`• ${title}\n`);
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '');
    process.stderr.write(`✗ ${title} failed\n`);
    process.exit(1);
  }
  return result.stdout.trim();
}

async function ensureDatabase() {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  const server = new URL(databaseUrl);
  server.pathname = '/postgres';
  const client = new pg.Client({ connectionString: server.toString() });
  try {
    await client.connect();
  } catch (error) {
    process.stderr.write(`✗ PostgreSQL is not reachable at ${server.host}: ${error.message}\n`);
    process.exit(1);
  }
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (rowCount === 0) {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    process.stdout.write(`• created database ${name}\n`);
  }
  await client.end();
}

async function waitForHealth(name, port) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://localhost:${port}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${name} did not become healthy on port ${port}`);
}

await ensureDatabase();
step('building', 'npm', ['run', '--silent', 'build']);
step('migrating the database', 'node', ['dist/apps/cli/src/main.js', 'migration:run']);
step('applying the demo registry', 'node', ['dist/apps/cli/src/main.js', 'registry:apply', env.REGISTRY_FILE ?? 'config/registry.yaml', '--allow-demo-keys']);
step('loading the demo citizens', 'node', ['dist/apps/cli/src/main.js', 'demo:seed']);

const children = APPS.map(([name]) => {
  const child = spawn('node', [`dist/apps/${name}/src/main.js`], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`✗ ${name} stopped (${signal ?? `exit ${code}`}); stopping the demo\n`);
      stop(1);
    }
  });
  return child;
});
let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

// Whatever goes wrong from here on, the apps started above are stopped with the demo.
try {
  await Promise.all(APPS.map(([name, variable, port]) => waitForHealth(name, Number(env[variable] ?? port))));
  await checkAndAnnounce();
} catch (error) {
  process.stderr.write(`✗ ${error.message}\n`);
  stop(1);
}

async function checkAndAnnounce() {
  const token = step('minting a token for the demo citizen', 'node', ['dist/apps/cli/src/main.js', 'dev:token', '--sub', 'demo-citizen']);
  const url = (variable, port) => `http://localhost:${env[variable] ?? port}`;
  const profile = await fetch(`${url('VAULT_PORT', 3001)}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  const held = profile.ok ? (await profile.json()).attributes.length : 0;
  if (!profile.ok || held === 0) {
    process.stderr.write(`✗ the demo citizen's profile did not answer as expected (HTTP ${profile.status})\n`);
    stop(1);
  } else {
    process.stdout.write(`• checked: GET /v1/me answers the demo citizen's profile, ${held} values\n`);
    process.stdout.write(`
Une fois is running with demo data.

  vault      ${url('VAULT_PORT', 3001)}   (API docs: ${url('VAULT_PORT', 3001)}/docs)
  broker     ${url('BROKER_PORT', 3002)}
  barometer  ${url('BAROMETER_PORT', 3003)}
  scheduler  ${url('SCHEDULER_PORT', 3004)}/health

Demo citizen "demo-citizen" (Léa Tremblay); a token valid 8 hours:

  export TOKEN=${token}
  curl -H "Authorization: Bearer $TOKEN" ${url('VAULT_PORT', 3001)}/v1/me

Another citizen: npm run cli -- dev:token --sub <anyone>. Ctrl-C stops the demo.
`);
    // For the test of this script: stop once everything answered.
    if (env.DEMO_EXIT_WHEN_READY === 'true') stop(0);
  }
}
