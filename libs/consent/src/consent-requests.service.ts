import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, IsNull } from 'typeorm';
import { type Label, RegistryService, type RegistrySnapshot } from '#libs/catalogue';
import { AppConfig } from '#libs/config';
import { DomainError } from '#libs/errors';
import { PairwiseIds } from '#libs/identity';
import { OutboxService } from '#libs/outbox';
import { lockLiveCitizen } from '#libs/vault';
import { checkTerms, type ConsentTerms } from './consent-terms.js';
import type { ConsentMode } from './consent.entity.js';
import { ConsentRequest, type ConsentRequestStatus, requestStatus } from './consent-request.entity.js';
import { ConsentsService, isUuid } from './consents.service.js';

/** How long a citizen has to answer a service's request. */
export const CONSENT_REQUEST_TTL_MS = 7 * 24 * 3600 * 1000;

export interface NewConsentRequest extends ConsentTerms {
  callbackUrl?: string | null;
  /** Set when the service already knows the citizen (a data request that lacked consent). */
  citizenId?: string | null;
}

export interface ServiceConsentRequestView {
  id: string;
  status: ConsentRequestStatus;
  citizen?: { ppid: string };
  consentId?: string;
  approvalUrl: string;
  expiresAt: string;
}

/** What the citizen sees before answering: who asks, for what, why, and for how long. */
export interface ConsentRequestView {
  id: string;
  status: ConsentRequestStatus;
  service: string;
  serviceName: Label | null;
  organisation: string;
  organisationName: Label | null;
  purpose: string;
  purposeLabel: Label | null;
  legalCategory: string | null;
  attributes: { code: string; label: Label | null }[];
  mode: ConsentMode;
  consentExpiresAt: string | null;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  consentId: string | null;
  approvalUrl: string;
}

@Injectable()
export class ConsentRequestsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly consents: ConsentsService,
    private readonly config: AppConfig,
    private readonly pairwise: PairwiseIds,
    private readonly outbox: OutboxService,
  ) {}

  /**
   * A service's request, within its registry rights. One addressed to a
   * known citizen locks the citizen first (lockLiveCitizen, in a transaction
   * of its own unless given one), as an erasure does: none is left pending
   * for a citizen erased meanwhile.
   */
  async create(request: NewConsentRequest, em?: EntityManager): Promise<ConsentRequest> {
    const terms = checkTerms(this.registry.current(), request);
    const citizenId = request.citizenId;
    if (!citizenId) return this.insert(em ?? this.dataSource.manager, request, terms);
    const addressed = async (tx: EntityManager) => {
      await lockLiveCitizen(tx, citizenId);
      return this.insert(tx, request, terms);
    };
    return em ? addressed(em) : this.dataSource.transaction(addressed);
  }

  private async insert(
    em: EntityManager,
    request: NewConsentRequest,
    { service, attributes, expiresAt }: ReturnType<typeof checkTerms>,
  ): Promise<ConsentRequest> {
    const now = new Date();
    const row = em.create(ConsentRequest, {
      id: randomUUID(),
      serviceId: service.id,
      organisationId: service.organisation,
      purpose: request.purpose,
      attributes,
      mode: request.mode,
      consentExpiresAt: expiresAt,
      callbackUrl: request.callbackUrl ?? null,
      status: 'pending',
      citizenId: request.citizenId ?? null,
      consentId: null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + CONSENT_REQUEST_TTL_MS),
      decidedAt: null,
    });
    await em.insert(ConsentRequest, row);
    return row;
  }

  /** Requests addressed to this citizen that still await an answer. */
  async listPending(citizenId: string): Promise<ConsentRequestView[]> {
    const rows = await this.dataSource.manager
      .createQueryBuilder(ConsentRequest, 'r')
      .where(`r.citizen_id = :citizenId AND r.status = 'pending' AND r.expires_at > now()`, { citizenId })
      .orderBy('r.created_at', 'DESC')
      .getMany();
    return rows.map((row) => this.view(row));
  }

  /**
   * A request is visible to the citizen it is addressed to, or, when it is
   * addressed to nobody, to whoever holds its approval link.
   */
  async get(citizenId: string, id: string): Promise<ConsentRequestView> {
    return this.view(await this.find(this.dataSource.manager, citizenId, id, false));
  }

  async approve(citizenId: string, id: string): Promise<ConsentRequestView> {
    return this.dataSource.transaction(async (em) => {
      // The citizen before the request, in the erasure's order, so an approval racing an erasure cannot deadlock it.
      await lockLiveCitizen(em, citizenId);
      const request = await this.pending(em, citizenId, id);
      const consent = await this.consents.grantIn(
        em,
        citizenId,
        {
          service: request.serviceId,
          purpose: request.purpose,
          attributes: request.attributes,
          mode: request.mode,
          expiresAt: request.consentExpiresAt,
        },
        request.id,
      );
      Object.assign(request, { status: 'approved', citizenId, consentId: consent.id, decidedAt: new Date() });
      await em.save(request);
      await this.callback(em, request, {
        citizen: { ppid: this.pairwise.of(request.organisationId, citizenId) },
        consentId: consent.id,
      });
      return this.view(request);
    });
  }

  async deny(citizenId: string, id: string): Promise<ConsentRequestView> {
    return this.dataSource.transaction(async (em) => {
      const request = await this.pending(em, citizenId, id);
      Object.assign(request, { status: 'denied', citizenId, decidedAt: new Date() });
      await em.save(request);
      await this.callback(em, request, {});
      return this.view(request);
    });
  }

  /** What the requesting service may know of its request: the citizen's pairwise id only once approved. */
  async getForService(serviceId: string, id: string): Promise<ServiceConsentRequestView> {
    const request = isUuid(id)
      ? await this.dataSource.manager.findOneBy(ConsentRequest, { id, serviceId })
      : null;
    if (!request)
      throw new DomainError('consent_request_not_found', `No consent request ${id} of this service.`);
    const status = requestStatus(request);
    return {
      id: request.id,
      status,
      ...(status === 'approved' && request.citizenId
        ? {
            citizen: { ppid: this.pairwise.of(request.organisationId, request.citizenId) },
            consentId: request.consentId!,
          }
        : {}),
      approvalUrl: approvalUrl(this.config, request.id),
      expiresAt: request.expiresAt.toISOString(),
    };
  }

  /**
   * The pending request this service already addressed to this citizen for
   * this purpose and these attributes, or a new one: repeated data requests
   * do not pile up requests in the citizen's inbox. Checked against the
   * registry snapshot the data request decided with.
   *
   * Locks the citizen first (lockLiveCitizen, in the caller's transaction),
   * as an erasure does: a data request that read the citizen before an
   * erasure either commits its request before the erasure denies what is
   * pending, or finds the citizen erased (citizen_not_found, nothing
   * released). The release takes no other row lock before this one, and
   * waits for the chain's advisory lock only before it (never while holding
   * it), so this order cannot deadlock with an erasure or another release.
   */
  async proposeFor(
    em: EntityManager,
    registry: RegistrySnapshot,
    citizenId: string,
    serviceId: string,
    purpose: string,
    attributes: string[],
  ): Promise<ConsentRequest> {
    await lockLiveCitizen(em, citizenId);
    const wanted = [...new Set(attributes)].sort();
    const existing = await em
      .createQueryBuilder(ConsentRequest, 'r')
      .where(
        `r.citizen_id = :citizenId AND r.service_id = :serviceId AND r.purpose = :purpose AND r.status = 'pending'`,
        {
          citizenId,
          serviceId,
          purpose,
        },
      )
      .andWhere('r.expires_at > now() AND r.attributes = :wanted', { wanted })
      .getOne();
    if (existing) return existing;
    const request: NewConsentRequest = {
      service: serviceId,
      purpose,
      attributes: wanted,
      mode: 'once',
      citizenId,
    };
    return this.insert(em, request, checkTerms(registry, request));
  }

  /** A signed callback to the URL the service gave with its request. */
  private async callback(
    em: EntityManager,
    request: ConsentRequest,
    extra: Record<string, unknown>,
  ): Promise<void> {
    if (!request.callbackUrl) return;
    await this.outbox.webhook(em, {
      type: `consent-request.${request.status}`,
      serviceId: request.serviceId,
      url: request.callbackUrl,
      data: { consentRequestId: request.id, status: request.status, ...extra },
    });
  }

  /** Denies what still waits for this citizen (erasure), telling each service that asked for a callback. */
  async denyAllPending(em: EntityManager, citizenId: string): Promise<void> {
    const pending = await em.find(ConsentRequest, {
      where: { citizenId, status: 'pending' },
      lock: { mode: 'pessimistic_write' },
    });
    for (const request of pending) {
      Object.assign(request, { status: 'denied', decidedAt: new Date() });
      await em.save(request);
      await this.callback(em, request, {});
    }
  }

  async listAll(
    citizenId: string,
    em: EntityManager = this.dataSource.manager,
  ): Promise<ConsentRequestView[]> {
    const rows = await em.find(ConsentRequest, { where: { citizenId }, order: { createdAt: 'DESC' } });
    return rows.map((row) => this.view(row));
  }

  view(request: ConsentRequest): ConsentRequestView {
    const registry = this.registry.current();
    const purpose = registry.purpose(request.purpose);
    return {
      id: request.id,
      status: requestStatus(request),
      service: request.serviceId,
      serviceName: registry.service(request.serviceId)?.name ?? null,
      organisation: request.organisationId,
      organisationName: registry.organisation(request.organisationId)?.name ?? null,
      purpose: request.purpose,
      purposeLabel: purpose?.label ?? null,
      legalCategory: purpose?.legalCategory ?? null,
      attributes: request.attributes.map((code) => ({
        code,
        label: registry.attribute(code)?.label ?? null,
      })),
      mode: request.mode,
      consentExpiresAt: request.consentExpiresAt?.toISOString() ?? null,
      createdAt: request.createdAt.toISOString(),
      expiresAt: request.expiresAt.toISOString(),
      decidedAt: request.decidedAt?.toISOString() ?? null,
      consentId: request.consentId,
      approvalUrl: approvalUrl(this.config, request.id),
    };
  }

  private async pending(em: EntityManager, citizenId: string, id: string): Promise<ConsentRequest> {
    const request = await this.find(em, citizenId, id, true);
    if (requestStatus(request) !== 'pending') {
      throw new DomainError(
        'consent_request_not_pending',
        `Consent request ${id} is ${requestStatus(request)}.`,
      );
    }
    return request;
  }

  private async find(
    em: EntityManager,
    citizenId: string,
    id: string,
    lock: boolean,
  ): Promise<ConsentRequest> {
    const request = isUuid(id)
      ? await em.findOne(ConsentRequest, {
          where: [
            { id, citizenId },
            { id, citizenId: IsNull() },
          ],
          ...(lock ? { lock: { mode: 'pessimistic_write' } } : {}),
        })
      : null;
    if (!request)
      throw new DomainError('consent_request_not_found', `No consent request ${id} for this citizen.`);
    return request;
  }
}

export function approvalUrl(config: AppConfig, requestId: string): string {
  return config.portal.published
    ? `${config.portal.url}/demandes/${requestId}`
    : `${config.urls.vault}/consent-requests/${requestId}`;
}
