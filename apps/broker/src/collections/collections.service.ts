import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { RegistryService } from '#libs/catalogue';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { OutboxService } from '#libs/outbox';

/**
 * A service reports what it still asked the citizen directly. A re-ask is an
 * attribute the administration already held and this service has a right to
 * read: it could have fetched it instead (Ambition 2); that is what the
 * report stores for the metrics.
 *
 * The answer must not tell the service more than a data request would: it
 * learns whether a value was held only where it could fetch it right now (a
 * consent or a legal basis for one of its purposes). Where it has a right but
 * no such ground, the attribute is in `undisclosed`, whatever the vault holds.
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
    const attributes = registry.knownAttributes(requested);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.require(em, service.organisationId, ppid);
      const heldRows: { attribute: string }[] = await em.query(
        `SELECT attribute FROM attribute_value WHERE citizen_id = $1 AND attribute = ANY ($2)`,
        [citizenId, attributes],
      );
      const held = new Set(heldRows.map((row) => row.attribute));
      const readable = attributes.filter((a) => registry.canReadForSomePurpose(service.serviceId, a));
      const reAsked = readable.filter((a) => held.has(a));
      const fetchable = await this.fetchableNow(em, citizenId, service.serviceId, readable);

      const id = randomUUID();
      await em.query(
        `INSERT INTO collection_report (citizen_id, id, service_id, organisation_id, attributes, re_asked, first_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          citizenId,
          id,
          service.serviceId,
          service.organisationId,
          attributes,
          reAsked,
          attributes.filter((a) => !reAsked.includes(a)),
        ],
      );
      await this.outbox.metric(em, {
        type: 'collection',
        data: {
          reportId: id,
          service: service.serviceId,
          organisation: service.organisationId,
          reAsked: reAsked.length,
          attributes: attributes.length,
        },
      });
      return {
        reAsked: reAsked.filter((a) => fetchable.has(a)),
        firstTime: attributes.filter((a) => !readable.includes(a) || (fetchable.has(a) && !held.has(a))),
        undisclosed: readable.filter((a) => !fetchable.has(a)),
      };
    });
  }

  /** Attributes this service could receive now for some purpose: a legal basis, or an active consent. */
  private async fetchableNow(
    em: EntityManager,
    citizenId: string,
    serviceId: string,
    readable: string[],
  ): Promise<Set<string>> {
    const registry = this.registry.current();
    const consents: { purpose: string; attributes: string[] }[] = await em.query(
      `SELECT purpose, attributes FROM consent
       WHERE citizen_id = $1 AND service_id = $2 AND status = 'active' AND (expires_at IS NULL OR expires_at > now())`,
      [citizenId, serviceId],
    );
    return new Set(
      readable.filter((attribute) =>
        registry.catalogue.purposes.some(
          ({ code }) =>
            registry.canRead(serviceId, attribute, code) &&
            (registry.legalBasis(serviceId, attribute, code) !== undefined ||
              consents.some((c) => c.purpose === code && c.attributes.includes(attribute))),
        ),
      ),
    );
  }
}
