import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { ConsentRequestsService, ConsentsService } from '#libs/consent';
import { DomainError } from '#libs/errors';
import { PairwiseIds } from '#libs/identity';
import { ReleaseService } from '#libs/release';
import { AttributesService, CitizensService } from '#libs/vault';
import { type RunningBroker, startBroker } from './support/broker-app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TestIdentityProvider } from './support/identity-provider.js';

// ---------------------------------------------------------------------------
// A small reference model of rule 1, written from the registry file alone.
// ---------------------------------------------------------------------------

const SERVICES = ['saaq-permis', 'ramq-carte', 'rq-credits', 'mess-aide'] as const;
const PURPOSES = ['licence-renewal', 'health-card-renewal', 'tax-credit', 'benefit-application'] as const;
const ATTRIBUTES = [
  'address.residential',
  'contact.email',
  'identity.birthdate',
  'civil.marital_status',
  'banking.direct_deposit',
] as const;
const VALUES: Record<string, unknown> = {
  'address.residential': { line1: '10 rue du Modèle', city: 'Laval', province: 'QC', postalCode: 'H7N 1A1' },
  'contact.email': 'modele@exemple.ca',
  'identity.birthdate': '1990-01-02',
  'civil.marital_status': 'single',
  'banking.direct_deposit': '815-30001-7654321',
};
const CITIZENS = 2;

interface RegistryFile {
  services: {
    id: string;
    organisation: string;
    rights?: { attribute: string; purposes?: string[]; access?: string }[];
  }[];
  legal_bases?: { service: string; attributes: string[]; purposes: string[] }[];
}
const file = parse(readFileSync('config/registry.yaml', 'utf8')) as RegistryFile;
const rights = new Set<string>();
const legal = new Set<string>();
const organisationOf = new Map<string, string>();
for (const service of file.services) {
  organisationOf.set(service.id, service.organisation);
  for (const right of service.rights ?? []) {
    if ((right.access ?? 'read') === 'read')
      for (const p of right.purposes ?? []) rights.add(`${service.id}|${right.attribute}|${p}`);
  }
}
for (const basis of file.legal_bases ?? []) {
  for (const a of basis.attributes) for (const p of basis.purposes) legal.add(`${basis.service}|${a}|${p}`);
}
const readable = (s: string, a: string, p: string) => rights.has(`${s}|${a}|${p}`);

interface ModelConsent {
  citizen: number;
  service: string;
  purpose: string;
  attributes: string[];
  mode: 'once' | 'ongoing';
  state: 'active' | 'revoked' | 'used' | 'expired';
}
interface ModelRequest {
  citizen: number;
  service: string;
  purpose: string;
  attributes: string[];
  mode: 'once' | 'ongoing';
  state: 'pending' | 'approved' | 'denied';
}
interface Model {
  held: Set<string>;
  consents: ModelConsent[];
  requests: ModelRequest[];
}
interface Real {
  citizenIds: string[];
  consentIds: string[];
  requestIds: string[];
}

/** What rule 1 says a data request must answer, attribute by attribute. */
function expected(model: Model, citizen: number, service: string, purpose: string, attributes: string[]) {
  return attributes.map((attribute) => {
    if (!readable(service, attribute, purpose)) return { attribute, outcome: 'not_authorized' as const };
    const covers = (c: ModelConsent) =>
      c.citizen === citizen &&
      c.service === service &&
      c.purpose === purpose &&
      c.state === 'active' &&
      c.attributes.includes(attribute);
    // A legal basis first, then an ongoing consent, then the oldest one-time consent.
    const ongoing = model.consents.findIndex((c) => covers(c) && c.mode === 'ongoing');
    const allowedBy = legal.has(`${service}|${attribute}|${purpose}`)
      ? 'legal'
      : ongoing !== -1
        ? ongoing
        : model.consents.findIndex(covers);
    if (allowedBy === -1) return { attribute, outcome: 'consent_required' as const };
    if (!model.held.has(`${citizen}|${attribute}`)) return { attribute, outcome: 'not_held' as const };
    return { attribute, outcome: 'released' as const, consent: allowedBy === 'legal' ? null : allowedBy };
  });
}

// ---------------------------------------------------------------------------

describe('Broker: rule 1 against a reference model', () => {
  let db: TestDatabase;
  let idp: TestIdentityProvider;
  let broker: RunningBroker;
  let consents: ConsentsService;
  let requests: ConsentRequestsService;
  let dataRequests: ReleaseService;
  let pairwise: PairwiseIds;
  let citizens: CitizensService;
  let attributes: AttributesService;

  beforeAll(async () => {
    db = await createTestDatabase('rulemodel');
    idp = await new TestIdentityProvider().start();
    broker = await startBroker(db, idp);
    consents = broker.app.get(ConsentsService);
    requests = broker.app.get(ConsentRequestsService);
    dataRequests = broker.app.get(ReleaseService);
    pairwise = broker.app.get(PairwiseIds);
    citizens = broker.app.get(CitizensService);
    attributes = broker.app.get(AttributesService);
  });
  afterAll(async () => {
    await broker.close();
    await idp.stop();
    await db.drop();
  });

  const refusedAsUnauthorized = async (work: () => Promise<unknown>): Promise<boolean> => {
    try {
      await work();
      return false;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'not_authorized') return true;
      throw error;
    }
  };

  const citizen = fc.integer({ min: 0, max: CITIZENS - 1 });
  const mode = fc.constantFrom('once' as const, 'ongoing' as const);
  const pick = fc.nat();
  // Mostly terms within a service's rights (so consents exist and matter), sometimes anything at all.
  const granted = SERVICES.flatMap((s) =>
    PURPOSES.map((p) => ({ s, p, a: ATTRIBUTES.filter((a) => readable(s, a, p)) })).filter(
      (t) => t.a.length > 0,
    ),
  );
  const terms = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...granted)
        .chain((t) => fc.tuple(fc.constant(t.s), fc.constant(t.p), fc.subarray(t.a, { minLength: 1 }))),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...SERVICES),
        fc.constantFrom(...PURPOSES),
        fc.subarray([...ATTRIBUTES], { minLength: 1 }),
      ),
    },
  );
  const question = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...granted)
        .chain((t) =>
          fc.tuple(
            fc.constant(t.s),
            fc.constant(t.p),
            fc.shuffledSubarray([...ATTRIBUTES], { minLength: 1 }),
          ),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom(...SERVICES),
        fc.constantFrom(...PURPOSES),
        fc.subarray([...ATTRIBUTES], { minLength: 1 }),
      ),
    },
  );

  class Grant implements fc.AsyncCommand<Model, Real> {
    constructor(
      readonly c: number,
      readonly s: string,
      readonly p: string,
      readonly a: string[],
      readonly m: 'once' | 'ongoing',
    ) {}
    check = () => true;
    async run(model: Model, real: Real) {
      const allowed = this.a.every((a) => readable(this.s, a, this.p));
      let id = '';
      const refused = await refusedAsUnauthorized(async () => {
        id = (
          await consents.grant(real.citizenIds[this.c], {
            service: this.s,
            purpose: this.p,
            attributes: this.a,
            mode: this.m,
          })
        ).id;
      });
      expect(refused).toBe(!allowed);
      if (allowed) {
        model.consents.push({
          citizen: this.c,
          service: this.s,
          purpose: this.p,
          attributes: this.a,
          mode: this.m,
          state: 'active',
        });
        real.consentIds.push(id);
      }
    }
    toString = () => `grant(${this.c}, ${this.s}, ${this.p}, [${this.a}], ${this.m})`;
  }

  class Revoke implements fc.AsyncCommand<Model, Real> {
    constructor(readonly k: number) {}
    check = (model: Readonly<Model>) => model.consents.length > 0;
    async run(model: Model, real: Real) {
      const i = this.k % model.consents.length;
      await consents.revoke(real.citizenIds[model.consents[i].citizen], real.consentIds[i]);
      if (model.consents[i].state === 'active' || model.consents[i].state === 'expired')
        model.consents[i].state = 'revoked';
    }
    toString = () => `revoke(#${this.k})`;
  }

  class Expire implements fc.AsyncCommand<Model, Real> {
    constructor(readonly k: number) {}
    check = (model: Readonly<Model>) => model.consents.length > 0;
    async run(model: Model, real: Real) {
      const i = this.k % model.consents.length;
      await broker.dataSource.query(
        `UPDATE consent SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [real.consentIds[i]],
      );
      if (model.consents[i].state === 'active') model.consents[i].state = 'expired';
    }
    toString = () => `expire(#${this.k})`;
  }

  class Ask implements fc.AsyncCommand<Model, Real> {
    constructor(
      readonly c: number,
      readonly s: string,
      readonly p: string,
      readonly a: string[],
      readonly m: 'once' | 'ongoing',
    ) {}
    check = () => true;
    async run(model: Model, real: Real) {
      const allowed = this.a.every((a) => readable(this.s, a, this.p));
      let id = '';
      const refused = await refusedAsUnauthorized(async () => {
        id = (
          await requests.create({
            service: this.s,
            purpose: this.p,
            attributes: this.a,
            mode: this.m,
            citizenId: real.citizenIds[this.c],
          })
        ).id;
      });
      expect(refused).toBe(!allowed);
      if (allowed) {
        model.requests.push({
          citizen: this.c,
          service: this.s,
          purpose: this.p,
          attributes: this.a,
          mode: this.m,
          state: 'pending',
        });
        real.requestIds.push(id);
      }
    }
    toString = () => `ask(${this.c}, ${this.s}, ${this.p}, [${this.a}], ${this.m})`;
  }

  class Answer implements fc.AsyncCommand<Model, Real> {
    constructor(
      readonly k: number,
      readonly approve: boolean,
    ) {}
    check = (model: Readonly<Model>) => model.requests.length > 0;
    async run(model: Model, real: Real) {
      const i = this.k % model.requests.length;
      const request = model.requests[i];
      const citizenId = real.citizenIds[request.citizen];
      const answer = () =>
        this.approve
          ? requests.approve(citizenId, real.requestIds[i])
          : requests.deny(citizenId, real.requestIds[i]);
      if (request.state !== 'pending') {
        await expect(answer()).rejects.toMatchObject({ code: 'consent_request_not_pending' });
        return;
      }
      const view = await answer();
      request.state = this.approve ? 'approved' : 'denied';
      if (this.approve) {
        model.consents.push({
          citizen: request.citizen,
          service: request.service,
          purpose: request.purpose,
          attributes: request.attributes,
          mode: request.mode,
          state: 'active',
        });
        real.consentIds.push(view.consentId!);
      }
    }
    toString = () => `${this.approve ? 'approve' : 'deny'}(#${this.k})`;
  }

  class Fetch implements fc.AsyncCommand<Model, Real> {
    constructor(
      readonly c: number,
      readonly s: string,
      readonly p: string,
      readonly a: string[],
    ) {}
    check = () => true;
    async run(model: Model, real: Real) {
      const organisation = organisationOf.get(this.s)!;
      const ppid = await pairwise.issue(broker.dataSource.manager, organisation, real.citizenIds[this.c]);
      const result = await dataRequests.handle(
        { serviceId: this.s, organisationId: organisation },
        { ppid, purpose: this.p, attributes: this.a },
      );
      const want = expected(model, this.c, this.s, this.p, this.a);
      // Never releases what the model forbids, never withholds what it allows, and says why.
      expect(result.released.map((r) => r.attribute)).toEqual(
        want.filter((w) => w.outcome === 'released').map((w) => w.attribute),
      );
      expect(result.withheld).toEqual(
        want
          .filter((w) => w.outcome !== 'released')
          .map((w) => ({ attribute: w.attribute, reason: w.outcome })),
      );
      for (const released of result.released) expect(released.value).toEqual(VALUES[released.attribute]);
      for (const w of want) {
        if (w.outcome === 'released' && w.consent !== null && model.consents[w.consent].mode === 'once')
          model.consents[w.consent].state = 'used';
      }
    }
    toString = () => `fetch(${this.c}, ${this.s}, ${this.p}, [${this.a}])`;
  }

  const commands = fc.commands(
    [
      fc.tuple(citizen, terms, mode).map(([c, [s, p, a], m]) => new Grant(c, s, p, a, m)),
      pick.map((k) => new Revoke(k)),
      pick.map((k) => new Expire(k)),
      fc.tuple(citizen, terms, mode).map(([c, [s, p, a], m]) => new Ask(c, s, p, a, m)),
      fc.tuple(pick, fc.boolean()).map(([k, approve]) => new Answer(k, approve)),
      fc.tuple(citizen, question).map(([c, [s, p, a]]) => new Fetch(c, s, p, a)),
      fc.tuple(citizen, question).map(([c, [s, p, a]]) => new Fetch(c, s, p, a)),
    ],
    { maxCommands: 10 },
  );
  const heldValues = fc.array(fc.subarray([...ATTRIBUTES]), { minLength: CITIZENS, maxLength: CITIZENS });

  it('never releases what the model forbids and never withholds what it allows', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(heldValues, commands, async (held, cmds) => {
        runs += 1;
        const setup = async () => {
          const model: Model = { held: new Set(), consents: [], requests: [] };
          const real: Real = { citizenIds: [], consentIds: [], requestIds: [] };
          for (const [i, codes] of held.entries()) {
            const { id } = await citizens.resolve('model-test', randomUUID());
            real.citizenIds.push(id);
            await broker.dataSource.transaction(async (em) => {
              for (const code of codes) {
                await attributes.write(em, id, code, VALUES[code] as never, {
                  kind: 'organisation',
                  organisationId: 'DEC',
                  serviceId: 'dec-registre',
                });
                model.held.add(`${i}|${code}`);
              }
            });
          }
          return { model, real };
        };
        await fc.asyncModelRun(setup, cmds);
      }),
      { numRuns: 1000, seed: 1762 },
    );
    expect(runs).toBeGreaterThanOrEqual(1000);
  });
});
