import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryService } from '#libs/catalogue';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { OutboxService } from '#libs/outbox';

/**
 * A service reports what it still asked the citizen directly. A re-ask is an
 * attribute the administration already held and this service has a right to
 * read: it could have fetched it instead (Ambition 2).
 */
@Injectable()
export class CollectionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly outbox: OutboxService,
  ) {}

  async report(service: ServicePrincipal, ppid: string, requested: string[]) {
    const registry = this.registry.current();
    const attributes = [...new Set(requested)];
    const unknown = attributes.filter((code) => !registry.attribute(code));
    if (unknown.length > 0) throw new DomainError('unknown_attribute', `Unknown attribute(s): ${unknown.join(', ')}.`);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.resolve(em, service.organisationId, ppid);
      if (!citizenId) throw new DomainError('citizen_not_found', 'Unknown pairwise id for your organisation.');
      const heldRows: { attribute: string }[] = await em.query(
        `SELECT attribute FROM attribute_value WHERE citizen_id = $1 AND attribute = ANY ($2)`,
        [citizenId, attributes],
      );
      const held = new Set(heldRows.map((row) => row.attribute));
      const reAsked = attributes.filter((a) => held.has(a) && registry.canReadForSomePurpose(service.serviceId, a));
      const firstTime = attributes.filter((a) => !reAsked.includes(a));
      const id = randomUUID();
      await em.query(
        `INSERT INTO collection_report (citizen_id, id, service_id, organisation_id, attributes, re_asked, first_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [citizenId, id, service.serviceId, service.organisationId, attributes, reAsked, firstTime],
      );
      await this.outbox.metric(em, {
        type: 'collection',
        data: { reportId: id, service: service.serviceId, organisation: service.organisationId, reAsked: reAsked.length, firstTime: firstTime.length },
      });
      return { reAsked, firstTime };
    });
  }
}
