import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { parse } from 'yaml';
import { checkAttributeValue, RegistryService } from '#libs/catalogue';
import { AppConfig } from '#libs/config';
import { ConsentRequestsService, ConsentsService } from '#libs/consent';
import { DeadlinesService } from '#libs/reminders';
import { AttributesService, CitizensService, type Writer } from '#libs/vault';
import { domainContext } from './domain-context.js';

interface DemoCitizen {
  subject: string;
  language: 'fr' | 'en';
  attributes: { attribute: string; value: unknown; by: string }[];
  consents?: { service: string; purpose: string; attributes: string[]; mode: 'once' | 'ongoing' }[];
  consentRequests?: { service: string; purpose: string; attributes: string[]; mode: 'once' | 'ongoing' }[];
}

/**
 * Loads the demo citizens through the same services the apps use, so their
 * values are encrypted and carry provenance like any other (and their expiry
 * dates make deadlines). A citizen who
 * already has values is left as they are (the command can run at every demo start).
 */
export async function seedDemo(env: Record<string, string | undefined>, file: string): Promise<string[]> {
  const app = await domainContext(env);
  try {
    const config = app.get(AppConfig);
    const registry = app.get(RegistryService).current();
    const citizens = app.get(CitizensService);
    const attributes = app.get(AttributesService);
    const consents = app.get(ConsentsService);
    const requests = app.get(ConsentRequestsService);
    const deadlines = app.get(DeadlinesService);
    const dataSource = app.get(DataSource);
    const report: string[] = [];
    const { citizens: demo } = parse(readFileSync(file, 'utf8')) as { citizens: DemoCitizen[] };
    for (const person of demo) {
      const citizen = await citizens.resolve(config.citizenIssuer.issuer, person.subject);
      if ((await attributes.list(citizen.id)).length > 0) {
        report.push(`${person.subject}: already seeded`);
        continue;
      }
      await citizens.updatePreferences(citizen.id, {
        ...citizens.preferences(citizen),
        language: person.language,
      });
      await dataSource.transaction(async (em) => {
        for (const item of person.attributes) {
          const definition = registry.attribute(item.attribute);
          const checked = definition ? checkAttributeValue(definition, item.value) : null;
          if (!checked?.ok) throw new Error(`${file}: ${person.subject} ${item.attribute}: invalid value`);
          const service = registry.service(item.by);
          const writer: Writer =
            item.by === 'citizen' || !service
              ? { kind: 'citizen' }
              : { kind: 'organisation', organisationId: service.organisation, serviceId: service.id };
          await attributes.write(em, citizen.id, item.attribute, checked.value, writer);
          await deadlines.onAttributeWritten(em, citizen.id, item.attribute, checked.value);
        }
      });
      for (const terms of person.consents ?? []) await consents.grant(citizen.id, terms);
      for (const terms of person.consentRequests ?? [])
        await requests.create({ ...terms, citizenId: citizen.id });
      report.push(
        `${person.subject}: ${person.attributes.length} values, ${person.consents?.length ?? 0} consents`,
      );
    }
    return report;
  } finally {
    await app.close();
  }
}
