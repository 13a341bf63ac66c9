import type { AppModuleOptions } from '#libs/config';
import { VaultAppModule } from '../../apps/vault/src/vault-app.module.js';
import { type RunningApp, startApp, testEnv } from './apps.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { TestIdentityProvider } from './identity-provider.js';

export { testEnv } from './apps.js';

export interface RunningVault extends RunningApp {
  db: TestDatabase;
  idp: TestIdentityProvider;
  env: Record<string, string>;
  /** A bearer header for a citizen of the test identity provider. */
  auth(subject: string): Promise<{ Authorization: string }>;
}

/** Boots the vault as `npm run start:vault` does, on a database of its own. */
export async function startVault(
  label: string,
  options: {
    db?: TestDatabase;
    idp?: TestIdentityProvider;
    env?: Record<string, string>;
  } & AppModuleOptions = {},
): Promise<RunningVault> {
  const db = options.db ?? (await createTestDatabase(label));
  const idp = options.idp ?? (await new TestIdentityProvider().start());
  const env = testEnv(db, idp, options.env);
  const running = await startApp(VaultAppModule.forRoot(env, { clock: options.clock }));
  return {
    ...running,
    db,
    idp,
    env,
    auth: async (subject) => ({ Authorization: `Bearer ${await idp.token({ subject })}` }),
    close: async () => {
      await running.close();
      if (!options.idp) await idp.stop();
      if (!options.db) await db.drop();
    },
  };
}
