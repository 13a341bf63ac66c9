import { spawn } from 'node:child_process';
import pg from 'pg';
import { databaseUrl } from './support/database.js';

/** The README's first command: builds, migrates a fresh database, loads the demo, starts every app, prints a token. */
describe('npm run demo', () => {
  const name = `unefois_t_demo_${Math.floor(Date.now() / 1000)}_${process.pid}`;
  afterAll(async () => {
    const client = new pg.Client({ connectionString: databaseUrl('postgres') });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });

  it('brings the platform up on a database it creates, the demo citizen signs in to the portal, her profile answers, and a reminder reaches the mail catcher', async () => {
    const ports = {
      VAULT_PORT: '3901',
      BROKER_PORT: '3902',
      BAROMETER_PORT: '3903',
      SCHEDULER_PORT: '3904',
      MAIL_CATCHER_SMTP_PORT: '3905',
      MAIL_CATCHER_WEB_PORT: '3906',
      IDP_PORT: '3907',
      PORTAL_PORT: '3908',
    };
    const child = spawn('node', ['scripts/demo.mjs'], {
      env: {
        ...process.env,
        ...ports,
        NODE_OPTIONS: '',
        DATABASE_URL: databaseUrl(name),
        REDIS_PREFIX: name,
        DEMO_EXIT_WHEN_READY: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, output }).toEqual({
      code: 0,
      output: expect.stringContaining('Une fois is running with demo data'),
    });
    expect(output).toContain(`created database ${name}`);
    expect(output).toMatch(/checked: GET \/v1\/me answers the demo citizen's profile, 12 values/);
    expect(output).toMatch(/export TOKEN=[\w-]+\.[\w-]+\.[\w-]+/);
    // The portal, with the demo citizens' sign-in names at the development OpenID provider.
    expect(output).toContain('checked: lea signs in to the portal and sees her profile');
    expect(output).toMatch(/portal {5}http:\/\/localhost:3908 .*sign in as lea \(Léa Tremblay\), samuel/);
    expect(output).toContain('identity   http://localhost:3907');
    expect(output).toContain('http://localhost:3901/v1/me');
    // A reminder falls due during the demo and reaches the mail catcher, whose address is printed.
    expect(output).toContain('mail       http://localhost:3906');
    expect(output).toMatch(/RAMQ registered deadline [0-9a-f-]{36}/);
    expect(output).toMatch(/mail catcher: ".+" to lea\.tremblay@exemple\.ca/);
    expect(output).toContain('checked: the reminder reached the mail catcher');
    // The demo's own activity reaches the barometer, whose dashboard address is printed.
    expect(output).toContain('barometer  http://localhost:3903');
    expect(output).toContain("checked: the barometer shows today's I2: 1 of 2 active services re-asked nothing");
  }, 400_000);
});
