import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryService } from '#libs/catalogue';
import { ConsentsService } from '#libs/consent';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { CollectionReports } from '#libs/metrics';
import { fetchableNow } from '#libs/release';
import { AttributesService } from '#libs/vault';

/**
 * A service reports what it still asked the citizen directly. A re-ask is an
 * attribute the administration already held and this service has a right to
 * read: it could have fetched it instead (Ambition 2); that is what the
 * report stores for the metrics.
 *
 * The answer must not tell the service more than a data request would: it
 * learns whether a value was held only where it could fetch it right now
 * (rule 1's fetchableNow: a consent or a legal basis for one of its
 * purposes). Where it has a right but no such ground, the attribute is in
 * `undisclosed`, whatever the vault holds.
 */
@Injectable()
export class CollectionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly attributes: AttributesService,
    private readonly consents: ConsentsService,
    private readonly reports: CollectionReports,
  ) {}

  async report(service: ServicePrincipal, ppid: string, requested: string[]) {
    const registry = this.registry.current();
    const attributes = registry.knownAttributes(requested);
    return this.dataSource.transaction(async (em) => {
      const citizenId = await this.pairwise.require(em, service.organisationId, ppid);
      const held = await this.attributes.heldCodes(em, citizenId, attributes);
      const readable = attributes.filter((a) => registry.canReadForSomePurpose(service.serviceId, a));
      const reAsked = readable.filter((a) => held.has(a));
      const fetchable = fetchableNow(
        registry,
        service.serviceId,
        readable,
        await this.consents.activeFor(em, citizenId, service.serviceId),
      );
      await this.reports.record(em, {
        citizenId,
        serviceId: service.serviceId,
        organisationId: service.organisationId,
        attributes,
        reAsked,
        firstTime: attributes.filter((a) => !reAsked.includes(a)),
      });
      return {
        reAsked: reAsked.filter((a) => fetchable.has(a)),
        firstTime: attributes.filter((a) => !readable.includes(a) || (fetchable.has(a) && !held.has(a))),
        undisclosed: readable.filter((a) => !fetchable.has(a)),
      };
    });
  }
}
