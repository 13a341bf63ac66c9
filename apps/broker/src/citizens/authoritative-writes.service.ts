import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { checkAttributeValue, RegistryService } from '#libs/catalogue';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { ConsentsService } from '#libs/consent';
import { DeadlinesService } from '#libs/reminders';
import { AttributesService } from '#libs/vault';

/**
 * An official source writes what it is the source of. "Tell once": every
 * service holding an ongoing consent on that attribute hears of the change
 * (attribute.changed, without the value: it fetches it under its consent).
 * An expiring attribute (an expiry date) creates or moves its deadline.
 */
@Injectable()
export class AuthoritativeWritesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly attributes: AttributesService,
    private readonly consents: ConsentsService,
    private readonly deadlines: DeadlinesService,
  ) {}

  async write(service: ServicePrincipal, ppid: string, attribute: string, raw: unknown) {
    const registry = this.registry.current();
    const definition = registry.attribute(attribute);
    if (!definition)
      throw new DomainError('unknown_attribute', `No attribute "${attribute}" in the catalogue.`);
    const refusal = registry.writeRefusal(service.serviceId, attribute);
    if (refusal) throw new DomainError('forbidden', refusal);
    const checked = checkAttributeValue(definition, raw);
    if (!checked.ok)
      throw new DomainError('invalid_attribute_value', `Invalid value for "${attribute}".`, checked.errors);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.require(em, service.organisationId, ppid);
      const written = await this.attributes.write(em, citizenId, attribute, checked.value, {
        kind: 'organisation',
        organisationId: service.organisationId,
        serviceId: service.serviceId,
      });
      await this.deadlines.onAttributeWritten(em, citizenId, attribute, checked.value);
      await this.consents.announceChange(
        em,
        registry,
        citizenId,
        attribute,
        written.source,
        written.updatedAt,
        service.serviceId,
      );
      return { attribute, source: written.source, updatedAt: written.updatedAt };
    });
  }
}
