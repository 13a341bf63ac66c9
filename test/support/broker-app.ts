import type { AppModuleOptions } from '#libs/config';
import type { HttpAppOptions } from '#libs/http';
import { BrokerAppModule } from '../../apps/broker/src/broker-app.module.js';
import { type CitizenIssuer, type RunningApp, startApp, testEnv } from './apps.js';
import type { TestDatabase } from './database.js';
import { TestService } from './services.js';
import type { RunningVault } from './vault-app.js';

export interface RunningBroker extends RunningApp {
  tokenEndpoint: string;
  service(id: string): TestService;
}

/**
 * Boots the broker. BROKER_URL is set before listening, so the token endpoint
 * (the `aud` of client assertions) is a fixed loopback URL of this test.
 */
export async function startBroker(
  db: TestDatabase,
  idp: CitizenIssuer,
  env: Record<string, string> = {},
  options: AppModuleOptions = {},
  setup?: HttpAppOptions['setup'],
): Promise<RunningBroker> {
  const brokerUrl = env.BROKER_URL ?? 'http://broker.test';
  const running = await startApp(
    BrokerAppModule.forRoot(testEnv(db, idp, { BROKER_URL: brokerUrl, ...env }), options),
    { setup },
  );
  const broker: RunningBroker = {
    ...running,
    tokenEndpoint: `${brokerUrl}/oauth/token`,
    service: (id) => new TestService(id, broker),
  };
  return broker;
}

/** A service's consent to a citizen's e-mail address. */
export interface Grant {
  service: TestService;
  purpose: string;
  mode: 'once' | 'ongoing';
}

/** A citizen with an e-mail, and the services' pairwise ids of them from consent requests they approved. */
export async function citizenWithEmailConsents(
  vault: RunningVault,
  broker: RunningBroker,
  subject: string,
  grants: Grant[],
) {
  const auth = await vault.auth(subject);
  await vault.http
    .put('/v1/me/attributes/contact.email')
    .set(auth)
    .send({ value: `${subject}@exemple.ca` })
    .expect(200);
  const ppids: Record<string, string> = {};
  for (const { service, purpose, mode } of grants) {
    const serviceAuth = await service.auth();
    const created = await broker.http
      .post('/v1/consent-requests')
      .set(serviceAuth)
      .send({ purpose, attributes: ['contact.email'], mode })
      .expect(201);
    await vault.http.post(`/v1/me/consent-requests/${created.body.id}/approve`).set(auth).expect(200);
    ppids[service.id] = (
      await broker.http.get(`/v1/consent-requests/${created.body.id}`).set(serviceAuth).expect(200)
    ).body.citizen.ppid;
  }
  const id = (await vault.http.get('/v1/me/export').set(auth).expect(200)).body.profile.id as string;
  return { id, auth, ppids };
}
