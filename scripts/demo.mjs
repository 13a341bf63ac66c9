#!/usr/bin/env node
// `npm run demo`: the whole platform on this machine with demo data.
// Builds, creates and migrates the database, applies the demo registry, loads
// the demo citizens, starts a mail catcher, the development OpenID provider
// and the apps, then prints their URLs, the demo citizens' sign-in names for
// the portal and a citizen token. A service registers a deadline whose
// reminder falls due a minute later: it reaches the mail catcher. Ctrl-C
// stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';
import { devCitizenToken, signInThroughPortal } from './dev-sign-in.mjs';
import { startMailCatcher } from './mail-catcher.mjs';

const APPS = [
  ['idp', 'IDP_PORT', 3006],
  ['vault', 'VAULT_PORT', 3001],
  ['broker', 'BROKER_PORT', 3002],
  ['barometer', 'BAROMETER_PORT', 3003],
  ['scheduler', 'SCHEDULER_PORT', 3004],
  ['portal', 'PORTAL_PORT', 3005],
];
// Development mode unless told otherwise: the demo runs on the development keys, and citizens sign in
// at the development OpenID provider (apps/idp), which the vault trusts as it would the government's.
const env = { NODE_ENV: 'development', LOG_LEVEL: 'warn', REMINDER_SWEEP_SECONDS: '5', ...process.env };
const url = (variable, port) => `http://localhost:${env[variable] ?? port}`;
env.CITIZEN_ISSUER ??= url('IDP_PORT', 3006);
env.CITIZEN_JWKS_URI ??= `${env.CITIZEN_ISSUER}/jwks`;
env.PORTAL_URL ??= url('PORTAL_PORT', 3005);
env.PORTAL_CLIENT_SECRET ??= randomBytes(24).toString('base64url');
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

// The scheduler's e-mail goes to the mail catcher, unless an SMTP server is configured.
let reminderMail = null;
const mailWaiters = [];
const catcher = await startMailCatcher({
  smtpPort: Number(env.MAIL_CATCHER_SMTP_PORT ?? 1025),
  webPort: Number(env.MAIL_CATCHER_WEB_PORT ?? 1080),
  log: (message) => {
    process.stdout.write(`• mail catcher: "${message.subject}" to ${message.to.join(', ')}\n`);
    for (const resolve of mailWaiters.splice(0)) resolve(message);
  },
});
env.SMTP_URL ??= catcher.smtpUrl;

// The barometer stands apart, as if another organisation ran it, and the portal and the identity provider
// reach citizens' data through the vault only: none of them holds the platform's secrets.
const PLATFORM_SECRETS = ['MASTER_KEYS', 'PAIRWISE_SECRET', 'SIGNING_KEYS', 'ACCESS_TOKEN_SIGNING_KEYS'];
const apartEnv = Object.fromEntries(Object.entries(env).filter(([key]) => !PLATFORM_SECRETS.includes(key)));

const children = APPS.map(([name]) => {
  const child = spawn('node', [`dist/apps/${name}/src/main.js`], {
    env: ['barometer', 'portal', 'idp'].includes(name) ? apartEnv : env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
  void catcher.stop();
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

/** A demo service's access token: a client assertion signed with its demo key (config/demo). */
async function serviceToken(service) {
  const keys = JSON.parse(readFileSync('config/demo/service-keys.json', 'utf8'));
  const key = keys[service];
  const broker = env.BROKER_URL ?? url('BROKER_PORT', 3002);
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setIssuer(service)
    .setSubject(service)
    .setAudience(`${broker}/oauth/token`)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(await importJWK(key, 'ES256'));
  const response = await fetch(`${url('BROKER_PORT', 3002)}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  if (!response.ok) throw new Error(`the broker refused ${service}'s token request (HTTP ${response.status})`);
  return (await response.json()).access_token;
}

/**
 * RAMQ registers a deadline due tomorrow, a minute from now: its 1-day reminder
 * falls due during the demo. The demo citizen takes reminders at any hour, so
 * quiet hours do not hold it until morning.
 */
async function registerDemoDeadline(citizenToken) {
  const asCitizen = { authorization: `Bearer ${citizenToken}`, 'content-type': 'application/json' };
  const vault = url('VAULT_PORT', 3001);
  const preferences = await (await fetch(`${vault}/v1/me/preferences`, { headers: asCitizen })).json();
  await fetch(`${vault}/v1/me/preferences`, {
    method: 'PUT',
    headers: asCitizen,
    body: JSON.stringify({ ...preferences, quietHours: { start: '00:00', end: '00:00' } }),
  });
  const exported = await (await fetch(`${vault}/v1/me/export`, { headers: asCitizen })).json();
  const ppid = exported.pairwiseIds?.find((p) => p.organisation === 'RAMQ')?.ppid;
  if (!ppid) throw new Error('the demo citizen has no RAMQ pairwise id');
  const response = await fetch(`${url('BROKER_PORT', 3002)}/v1/deadlines`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await serviceToken('ramq-carte')}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      citizen: { ppid },
      kind: 'health-card-renewal',
      dueAt: new Date(Date.now() + 86_400_000 + 60_000).toISOString(),
      title: {
        fr: 'Envoyer la photo pour votre nouvelle carte d’assurance maladie',
        en: 'Send the photo for your new health insurance card',
      },
      actionUrl: 'https://www.ramq.gouv.qc.ca/',
      externalRef: `demo-${randomUUID()}`,
    }),
  });
  if (response.status !== 201) throw new Error(`POST /v1/deadlines answered HTTP ${response.status}`);
  return (await response.json()).id;
}

/**
 * A little of a day's work through the broker, so the barometer has figures:
 * RAMQ fetches the demo citizen's address under her consent instead of
 * asking; MESS asks her for it anyway (a re-ask). The metric events go from
 * the outbox to the barometer; the demo waits until its indicators show them.
 */
async function feedTheBarometer(citizenToken) {
  const asCitizen = { authorization: `Bearer ${citizenToken}` };
  const exported = await (await fetch(`${url('VAULT_PORT', 3001)}/v1/me/export`, { headers: asCitizen })).json();
  const ppid = (organisation) => exported.pairwiseIds?.find((p) => p.organisation === organisation)?.ppid;
  const broker = url('BROKER_PORT', 3002);
  const call = async (service, path, body) => {
    const response = await fetch(`${broker}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await serviceToken(service)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`POST ${path} by ${service} answered HTTP ${response.status}`);
  };
  await call('ramq-carte', '/v1/data-requests', {
    citizen: { ppid: ppid('RAMQ') },
    purpose: 'health-card-renewal',
    attributes: ['address.residential'],
  });
  await call('mess-aide', '/v1/collections', { citizen: { ppid: ppid('MESS') }, attributes: ['address.residential'] });
  const barometer = url('BAROMETER_PORT', 3003);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { indicators } = await (await fetch(`${barometer}/v1/indicators?period=day`)).json();
    const today = indicators.find((row) => row.indicator === 'I2' && row.organisation === null);
    if (today?.denominator >= 2) return today;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('the barometer did not receive the demo’s metric events within 60 s');
}

/** The demo's sign-in names at the development provider (config/demo/identities.yaml). */
function signInNames() {
  return [...readFileSync(env.IDP_ACCOUNTS_FILE ?? 'config/demo/identities.yaml', 'utf8').matchAll(
    /- login: (\S+)\n\s+subject: \S+\n\s+given_name: (.+)\n\s+family_name: (.+)\n/g,
  )].map(([, login, given, family]) => `${login} (${given} ${family})`);
}

async function checkAndAnnounce() {
  process.stdout.write('• signing the demo citizen in at the development OpenID provider\n');
  const token = await devCitizenToken({
    issuer: env.CITIZEN_ISSUER,
    clientId: env.PORTAL_CLIENT_ID ?? 'une-fois-portal',
    clientSecret: env.PORTAL_CLIENT_SECRET,
    redirectUri: `${env.PORTAL_URL}/auth/callback`,
    resource: env.CITIZEN_AUDIENCE ?? 'urn:une-fois:vault',
    login: 'lea',
  });
  const profile = await fetch(`${url('VAULT_PORT', 3001)}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  const held = profile.ok ? (await profile.json()).attributes.length : 0;
  if (!profile.ok || held === 0) {
    process.stderr.write(`✗ the demo citizen's profile did not answer as expected (HTTP ${profile.status})\n`);
    stop(1);
  } else {
    process.stdout.write(`• checked: GET /v1/me answers the demo citizen's profile, ${held} values\n`);
    const portalPage = await signInThroughPortal(env.PORTAL_URL, 'lea');
    if (!portalPage.includes('Bonjour Léa')) throw new Error('the portal did not show the demo citizen her profile');
    process.stdout.write(`• checked: lea signs in to the portal and sees her profile\n`);
    const deadlineId = await registerDemoDeadline(token);
    reminderMail = new Promise((resolve) => mailWaiters.push(resolve));
    process.stdout.write(`• RAMQ registered deadline ${deadlineId}; its 1-day reminder falls due in about a minute\n`);
    const i2 = await feedTheBarometer(token);
    process.stdout.write(
      `• checked: the barometer shows today's I2: ${i2.numerator} of ${i2.denominator} active services re-asked nothing\n`,
    );
    process.stdout.write(`
Une fois is running with demo data.

  portal     ${env.PORTAL_URL}   (citizens' pages; sign in as ${signInNames().join(', ')})
  identity   ${env.CITIZEN_ISSUER}   (the development OpenID provider: a sign-in name, no password)
  vault      ${url('VAULT_PORT', 3001)}   (API docs: ${url('VAULT_PORT', 3001)}/docs)
  broker     ${url('BROKER_PORT', 3002)}
  barometer  ${url('BAROMETER_PORT', 3003)}   (dashboard: the indicators the demo's events give, target lines, open data)
  scheduler  ${url('SCHEDULER_PORT', 3004)}/health
  mail       ${catcher.webUrl}   (reminder e-mails the scheduler sends, caught here)

Demo citizen "demo-citizen" (Léa Tremblay), signed in as lea; a token valid 1 hour:

  export TOKEN=${token}
  curl -H "Authorization: Bearer $TOKEN" ${url('VAULT_PORT', 3001)}/v1/me
  curl -H "Authorization: Bearer $TOKEN" ${url('VAULT_PORT', 3001)}/v1/me/deadlines

Another citizen: sign in to the portal as another of the names above. Ctrl-C stops the demo.
`);
    // For the test of this script: stop once everything answered and the reminder arrived.
    if (env.DEMO_EXIT_WHEN_READY === 'true') {
      const arrived = await Promise.race([reminderMail, new Promise((resolve) => setTimeout(resolve, 150_000, null))]);
      if (!arrived) throw new Error('the demo reminder did not reach the mail catcher within 150 s');
      process.stdout.write('• checked: the reminder reached the mail catcher\n');
      stop(0);
    }
  }
}
