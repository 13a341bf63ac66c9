import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type AccessBasis, AccessLogService, type WithheldReason } from '#libs/access-log';
import { type JsonValue, RegistryService } from '#libs/catalogue';
import { ConsentRequestsService, ConsentsService, approvalUrl } from '#libs/consent';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';
import { PairwiseIds, type ServicePrincipal } from '#libs/identity';
import { OutboxService } from '#libs/outbox';
import { AttributesService } from '#libs/vault';
import { decide } from './release-rule.js';

export interface DataRequestInput {
  ppid: string;
  purpose: string;
  attributes: string[];
}

export interface DataRequestResult {
  requestId: string;
  released: { attribute: string; value: JsonValue; source: string; updatedAt: string }[];
  withheld: { attribute: string; reason: WithheldReason }[];
  consentRequest?: { id: string; approvalUrl: string };
}

/**
 * "Reuse instead of re-ask": releases what rule 1 allows, logs the access in
 * the citizen's chain and writes the metric event, all in one transaction.
 * If any of it fails, nothing is released (fail closed).
 */
@Injectable()
export class DataRequestsService {
  private readonly logger = new Logger(DataRequestsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly consents: ConsentsService,
    private readonly consentRequests: ConsentRequestsService,
    private readonly attributes: AttributesService,
    private readonly accessLog: AccessLogService,
    private readonly outbox: OutboxService,
    private readonly config: AppConfig,
  ) {}

  async handle(service: ServicePrincipal, input: DataRequestInput): Promise<DataRequestResult> {
    const registry = this.registry.current();
    if (!registry.purpose(input.purpose)) throw new DomainError('unknown_purpose', `No purpose "${input.purpose}".`);
    const attributes = [...new Set(input.attributes)];
    const unknown = attributes.filter((code) => !registry.attribute(code));
    if (unknown.length > 0) {
      throw new DomainError(
        'unknown_attribute',
        `Unknown attribute(s): ${unknown.join(', ')}.`,
        unknown.map((code) => ({ field: 'attributes', message: `unknown attribute "${code}"` })),
      );
    }
    try {
      return await this.dataSource.transaction((em) => this.release(em, service, input, attributes));
    } catch (error) {
      if (error instanceof DomainError) throw error;
      this.logger.error({ err: error }, 'data request failed; nothing released');
      throw new DomainError('service_unavailable', 'The request could not be completed; nothing was released.');
    }
  }

  private async release(
    em: EntityManager,
    service: ServicePrincipal,
    input: DataRequestInput,
    attributes: string[],
  ): Promise<DataRequestResult> {
    const registry = this.registry.current();
    const citizenId = await this.pairwise.resolve(em, service.organisationId, input.ppid);
    if (!citizenId) throw new DomainError('citizen_not_found', 'Unknown pairwise id for your organisation.');

    const active = await this.consents.activeFor(em, citizenId, service.serviceId, input.purpose);
    const decisions = decide(registry, service.serviceId, input.purpose, attributes, active);
    const allowed = decisions.filter((d) => d.allowed);
    const held = await this.attributes.read(em, citizenId, allowed.map((d) => d.attribute));

    const released: DataRequestResult['released'] = [];
    const withheld: DataRequestResult['withheld'] = [];
    const basis: AccessBasis[] = [];
    for (const decision of decisions) {
      if (!decision.allowed) {
        withheld.push({ attribute: decision.attribute, reason: decision.reason });
        continue;
      }
      const value = held.get(decision.attribute);
      if (!value) {
        withheld.push({ attribute: decision.attribute, reason: 'not_held' });
        continue;
      }
      released.push({ attribute: value.attribute, value: value.value, source: value.source, updatedAt: value.updatedAt });
      basis.push(decision.basis);
    }

    const usedConsents = new Set(basis.flatMap((b) => (b.kind === 'consent' ? [b.consentId] : [])));
    await this.consents.markUsed(
      em,
      citizenId,
      active.filter((c) => c.mode === 'once' && usedConsents.has(c.id)).map((c) => c.id),
    );

    const toAsk = withheld.filter((w) => w.reason === 'consent_required').map((w) => w.attribute);
    const proposal = toAsk.length > 0
      ? await this.consentRequests.proposeFor(em, citizenId, service.serviceId, input.purpose, toAsk)
      : null;

    const requestId = randomUUID();
    await this.accessLog.append(em, {
      citizenId,
      serviceId: service.serviceId,
      organisationId: service.organisationId,
      purpose: input.purpose,
      requestId,
      attributes,
      outcome: released.length === 0 ? 'withheld' : withheld.length === 0 ? 'released' : 'partial',
      released: released.map((r) => r.attribute),
      withheld,
      basis,
    });
    await this.outbox.metric(em, {
      type: 'data-request',
      data: {
        requestId,
        service: service.serviceId,
        organisation: service.organisationId,
        purpose: input.purpose,
        released: released.length,
        withheld: withheld.length,
      },
    });
    return {
      requestId,
      released,
      withheld,
      ...(proposal ? { consentRequest: { id: proposal.id, approvalUrl: approvalUrl(this.config, proposal.id) } } : {}),
    };
  }
}
