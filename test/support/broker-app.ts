import type { AppModuleOptions } from '#libs/config';
import { BrokerAppModule } from '../../apps/broker/src/broker-app.module.js';
import { type CitizenIssuer, type RunningApp, startApp, testEnv } from './apps.js';
import type { TestDatabase } from './database.js';
import { TestService } from './services.js';

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
): Promise<RunningBroker> {
  const brokerUrl = env.BROKER_URL ?? 'http://broker.test';
  const running = await startApp(
    BrokerAppModule.forRoot(testEnv(db, idp, { BROKER_URL: brokerUrl, ...env }), options),
  );
  const broker: RunningBroker = {
    ...running,
    tokenEndpoint: `${brokerUrl}/oauth/token`,
    service: (id) => new TestService(id, broker),
  };
  return broker;
}
