import type { DynamicModule, INestApplication } from '@nestjs/common';
import { createHttpApp } from '#libs/http';
import { JOB_CATALOGUE, type JobCatalogue, QueuesModule } from '#libs/queues';
import { SchedulerAppModule } from '../apps/scheduler/src/scheduler-app.module.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';
import { testEnv } from './support/vault-app.js';

/** The scheduler's module as main.ts builds it, its workers given another job catalogue. */
function schedulerWithJobs(env: Record<string, string>, catalogue: JobCatalogue): DynamicModule {
  const module = SchedulerAppModule.forRoot(env);
  let replaced = 0;
  const imports = module.imports!.map((imported) => {
    if ((imported as DynamicModule).module !== QueuesModule) return imported;
    replaced++;
    return QueuesModule.forWorkers(catalogue);
  });
  expect(replaced).toBe(1);
  return { ...module, imports };
}

async function boot(module: DynamicModule): Promise<INestApplication> {
  const app = await createHttpApp(module, { title: 'test', description: 'test' });
  try {
    await app.init();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}

describe('The scheduler’s jobs', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase('schedulerjobs');
    idp = await new TestIdentityProvider().start();
    env = testEnv(db, idp);
  });
  afterAll(async () => {
    await idp.stop();
    await db.drop();
  });

  it('boots when every job of the catalogue has a handler', async () => {
    const app = await boot(schedulerWithJobs(env, JOB_CATALOGUE));
    await app.close();
  });

  it('refuses to boot, naming the job, when a job has no handler', async () => {
    const catalogue: JobCatalogue = {
      ...JOB_CATALOGUE,
      'relay-metrics': { queue: '{metrics}', parse: (data) => data },
    };
    await expect(boot(schedulerWithJobs(env, catalogue))).rejects.toThrow(
      'Job handlers: job relay-metrics has no handler',
    );
  });

  it('refuses to boot when a handler is for a job the catalogue does not name', async () => {
    const { 'deliver-webhook': _handled, ...catalogue } = JOB_CATALOGUE;
    await expect(boot(schedulerWithJobs(env, catalogue))).rejects.toThrow(
      'handler deliver is for job deliver-webhook, which no queue has',
    );
  });
});
