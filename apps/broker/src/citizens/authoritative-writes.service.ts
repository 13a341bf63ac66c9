import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { checkAttributeValue, RegistryService } from '#libs/catalogue';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { OutboxService } from '#libs/outbox';
import { AttributesService } from '#libs/vault';

/**
 * An official source writes what it is the source of. "Tell once": every
 * service holding an ongoing consent on that attribute hears of the change
 * (attribute.changed, without the value: it fetches it under its consent).
 */
@Injectable()
export class AuthoritativeWritesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly attributes: AttributesService,
    private readonly outbox: OutboxService,
  ) {}

  async write(service: ServicePrincipal, ppid: string, attribute: string, raw: unknown) {
    const registry = this.registry.current();
    const definition = registry.attribute(attribute);
    if (!definition) throw new DomainError('unknown_attribute', `No attribute "${attribute}" in the catalogue.`);
    if (!registry.canWrite(service.serviceId, attribute)) {
      throw new DomainError('forbidden', `${service.serviceId} has no write right on ${attribute}.`);
    }
    const checked = checkAttributeValue(definition, raw);
    if (!checked.ok) throw new DomainError('invalid_attribute_value', `Invalid value for "${attribute}".`, checked.errors);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.resolve(em, service.organisationId, ppid);
      if (!citizenId) throw new DomainError('citizen_not_found', 'Unknown pairwise id for your organisation.');
      const written = await this.attributes.write(em, citizenId, attribute, checked.value, {
        kind: 'organisation',
        organisationId: service.organisationId,
        serviceId: service.serviceId,
      });
      await this.propagate(em, citizenId, attribute, written.source, written.updatedAt, service.serviceId);
      return { attribute, source: written.source, updatedAt: written.updatedAt };
    });
  }

  private async propagate(em: EntityManager, citizenId: string, attribute: string, source: string, updatedAt: string, writer: string) {
    const holders: { service_id: string; organisation_id: string }[] = await em.query(
      `SELECT DISTINCT service_id, organisation_id FROM consent
       WHERE citizen_id = $1 AND status = 'active' AND mode = 'ongoing' AND $2 = ANY (attributes)
         AND (expires_at IS NULL OR expires_at > now()) AND service_id <> $3`,
      [citizenId, attribute, writer],
    );
    const registry = this.registry.current();
    for (const holder of holders) {
      const url = registry.service(holder.service_id)?.webhook_url;
      if (!url) continue;
      await this.outbox.webhook(em, {
        type: 'attribute.changed',
        serviceId: holder.service_id,
        url,
        data: { citizen: { ppid: this.pairwise.of(holder.organisation_id, citizenId) }, attribute, source, updatedAt },
      });
    }
  }
}
