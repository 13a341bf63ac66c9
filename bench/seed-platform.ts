/**
 * The citizens bench:broker and bench:broker-scale serve, seeded in bulk
 * (bench/bulk-seed.ts: COPY, values sealed by the real crypto lib) into a
 * freshly migrated database: each citizen holds a value of every catalogue
 * attribute, an ongoing consent to `saaq-permis` for three of them, and an
 * access log of `logEntriesPerCitizen` entries; the first citizen is also
 * known to RQ, for the same-citizen run.
 */
import { DataSource } from 'typeorm';
import { PairwiseIds } from '#libs/identity';
import { domainContext } from '../apps/cli/src/domain-context.js';
import { bulkSeed, DEMO_VALUES } from './bulk-seed.js';
import { log, recreateDatabase, SECRETS } from './support.js';

export const SERVICE = 'saaq-permis';
/** The second service of the same-citizen run: RQ's tax credits, released under a legal basis. */
export const SECOND_SERVICE = 'rq-credits';
/** What saaq-permis asks for, under the citizen's consent. */
export const ATTRIBUTES = ['address.residential', 'contact.email', 'identity.birthdate'];
/** What each citizen holds: what GET /v1/me shows. */
export const HELD = Object.keys(DEMO_VALUES);

export interface SeededPlatform {
  ppids: string[];
  citizenIds: string[];
  secondPpid: string;
  seconds: number;
}

export async function seedPlatform(
  databaseUrl: string,
  citizens: number,
  logEntriesPerCitizen: number,
): Promise<SeededPlatform> {
  await recreateDatabase(databaseUrl);
  const started = Date.now();
  const { citizenIds, ppids } = await bulkSeed({
    databaseUrl,
    env: SECRETS,
    citizens,
    attributes: HELD,
    consent: { service: SERVICE, purpose: 'licence-renewal', attributes: ATTRIBUTES },
    logEntriesPerCitizen,
    onProgress: (line) => log(`  ${line}`),
  });
  const app = await domainContext({ ...process.env, ...SECRETS, DATABASE_URL: databaseUrl });
  const secondPpid = await app
    .get(DataSource)
    .transaction((em) => app.get(PairwiseIds).issue(em, 'RQ', citizenIds[0]));
  await app.close();
  return { ppids, citizenIds, secondPpid, seconds: (Date.now() - started) / 1000 };
}
