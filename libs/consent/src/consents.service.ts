import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { type Label, LEGAL_CATEGORIES, RegistryService, type RegistrySnapshot } from '#libs/catalogue';
import { AppConfig } from '#libs/config';
import { PlatformSigner } from '#libs/crypto';
import { DomainError } from '#libs/errors';
import { PairwiseIds } from '#libs/identity';
import { OutboxService } from '#libs/outbox';
import { lockLiveCitizen } from '#libs/vault';
import { activeConsentSql } from './active-consent.js';
import { checkTerms, type ConsentTerms } from './consent-terms.js';
import { Consent, type ConsentMode, type ConsentStatus, consentStatus } from './consent.entity.js';

export interface ConsentView {
  id: string;
  service: string;
  serviceName: Label | null;
  organisation: string;
  organisationName: Label | null;
  purpose: string;
  purposeLabel: Label | null;
  attributes: string[];
  mode: ConsentMode;
  status: ConsentStatus;
  grantedAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  usedAt: string | null;
  consentRequestId: string | null;
}

@Injectable()
export class ConsentsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly signer: PlatformSigner,
    private readonly config: AppConfig,
    private readonly pairwise: PairwiseIds,
    private readonly outbox: OutboxService,
  ) {}

  async grant(citizenId: string, terms: ConsentTerms): Promise<ConsentView> {
    return this.view(await this.dataSource.transaction((em) => this.grantIn(em, citizenId, terms, null)));
  }

  /**
   * Records a consent in the caller's transaction (a direct grant, or the
   * approval of a request), gives the service's organisation its pairwise id
   * of the citizen, and tells the service and the barometer (consent.granted).
   */
  async grantIn(
    em: EntityManager,
    citizenId: string,
    terms: ConsentTerms,
    consentRequestId: string | null,
  ): Promise<Consent> {
    const registry = this.registry.current();
    const { service, attributes, expiresAt } = checkTerms(registry, terms);
    await lockLiveCitizen(em, citizenId);
    const consent = em.create(Consent, {
      citizenId,
      id: randomUUID(),
      serviceId: service.id,
      organisationId: service.organisation,
      purpose: terms.purpose,
      attributes,
      mode: terms.mode,
      status: 'active',
      grantedAt: new Date(),
      expiresAt,
      revokedAt: null,
      usedAt: null,
      consentRequestId,
      registryVersion: registry.version,
    });
    await em.insert(Consent, consent);
    const ppid = await this.pairwise.issue(em, service.organisation, citizenId);
    await this.notify(em, consent, 'consent.granted', ppid, registry);
    return consent;
  }

  async list(citizenId: string, em: EntityManager = this.dataSource.manager): Promise<ConsentView[]> {
    const consents = await em.find(Consent, { where: { citizenId }, order: { grantedAt: 'DESC' } });
    return consents.map((consent) => this.view(consent));
  }

  /** Effective at once: the next data request no longer finds it. Revoking twice is harmless. */
  async revoke(citizenId: string, id: string): Promise<ConsentView> {
    return this.dataSource.transaction(async (em) => {
      const consent = await this.find(em, citizenId, id, true);
      if (consent.status === 'active') await this.revokeIn(em, consent);
      return this.view(consent);
    });
  }

  /** The purposes and attributes of the citizen's active consents to one service. */
  async activeFor(
    em: EntityManager,
    citizenId: string,
    serviceId: string,
  ): Promise<{ purpose: string; attributes: string[] }[]> {
    return em.query(
      `SELECT purpose, attributes FROM consent WHERE citizen_id = $1 AND service_id = $2 AND ${activeConsentSql()}`,
      [citizenId, serviceId],
    );
  }

  /** Revokes every active consent of a citizen (erasure), telling each service. */
  async revokeAll(em: EntityManager, citizenId: string): Promise<void> {
    const active = await em.find(Consent, {
      where: { citizenId, status: 'active' },
      lock: { mode: 'pessimistic_write' },
    });
    for (const consent of active) await this.revokeIn(em, consent);
  }

  private async revokeIn(em: EntityManager, consent: Consent): Promise<void> {
    consent.status = 'revoked';
    consent.revokedAt = new Date();
    await em.update(
      Consent,
      { citizenId: consent.citizenId, id: consent.id },
      { status: consent.status, revokedAt: consent.revokedAt },
    );
    await this.notify(
      em,
      consent,
      'consent.revoked',
      this.pairwise.of(consent.organisationId, consent.citizenId),
    );
  }

  /**
   * "Tell once": every other service holding an active ongoing consent on the
   * attribute hears that it changed (attribute.changed, without the value: it
   * fetches it under its consent), in the caller's transaction; the
   * webhook URLs come from the registry snapshot the write was checked with.
   */
  async announceChange(
    em: EntityManager,
    registry: RegistrySnapshot,
    citizenId: string,
    attribute: string,
    source: string,
    updatedAt: string,
    writer: string,
  ) {
    const holders: { service_id: string; organisation_id: string }[] = await em.query(
      `SELECT DISTINCT service_id, organisation_id FROM consent
       WHERE citizen_id = $1 AND ${activeConsentSql()} AND mode = 'ongoing' AND $2 = ANY (attributes)
         AND service_id <> $3`,
      [citizenId, attribute, writer],
    );
    for (const holder of holders) {
      const url = registry.service(holder.service_id)?.webhook_url;
      if (!url) continue;
      await this.outbox.webhook(em, {
        type: 'attribute.changed',
        serviceId: holder.service_id,
        url,
        data: {
          citizen: { ppid: this.pairwise.of(holder.organisation_id, citizenId) },
          attribute,
          source,
          updatedAt,
        },
      });
    }
  }

  /**
   * The consent's metric event (rule 7: organisation, service, purpose and
   * mode, never the citizen nor the consent), and a signed webhook to the
   * service if it registered a webhook URL, where the citizen appears by
   * pairwise id only; in the caller's transaction.
   */
  private async notify(
    em: EntityManager,
    consent: Consent,
    type: 'consent.granted' | 'consent.revoked',
    ppid: string,
    registry: RegistrySnapshot = this.registry.current(),
  ) {
    await this.outbox.metric(em, {
      type,
      data: {
        organisation: consent.organisationId,
        service: consent.serviceId,
        purpose: consent.purpose,
        mode: consent.mode,
      },
    });
    const url = registry.service(consent.serviceId)?.webhook_url;
    if (!url) return;
    await this.outbox.webhook(em, {
      type,
      serviceId: consent.serviceId,
      url,
      data: {
        consentId: consent.id,
        citizen: { ppid },
        purpose: consent.purpose,
        attributes: consent.attributes,
        mode: consent.mode,
        expiresAt: consent.expiresAt?.toISOString() ?? null,
        ...(consent.consentRequestId ? { consentRequestId: consent.consentRequestId } : {}),
      },
    });
  }

  /**
   * A signed consent receipt (compact JWS) with the Kantara Consent Receipt
   * v1.1 fields, named as in ISO/IEC TS 27560 where that names them too.
   */
  async receipt(citizenId: string, id: string, language: 'fr' | 'en'): Promise<string> {
    const consent = await this.find(this.dataSource.manager, citizenId, id, false);
    const registry = this.registry.current();
    const service = registry.service(consent.serviceId);
    const organisation = registry.organisation(consent.organisationId);
    const purpose = registry.purpose(consent.purpose);
    const attributes = consent.attributes.map((code) => registry.attribute(code));
    const sensitive = attributes.filter((a) => a?.sensitivity === 'sensitive').map((a) => a!.code);
    const pick = (label: Label | undefined, fallback: string) => label?.[language] ?? fallback;
    return this.signer.signJson(
      {
        iss: this.config.urls.vault,
        iat: Math.floor(Date.now() / 1000),
        version: 'KI-CR-v1.1.0',
        jurisdiction: 'CA-QC',
        language,
        consentReceiptID: consent.id,
        consentTimestamp: Math.floor(consent.grantedAt.getTime() / 1000),
        collectionMethod: consent.consentRequestId
          ? 'approval of a service request in Une fois'
          : 'granted in Une fois',
        // The organisation's pairwise id: the receipt may be shown to the service, never the internal id.
        piiPrincipalId: this.pairwise.of(consent.organisationId, consent.citizenId),
        piiControllers: [
          {
            piiController: pick(organisation?.name, consent.organisationId),
            organisationId: consent.organisationId,
            url: this.config.urls.broker,
          },
        ],
        policyUrl: `${this.config.urls.vault}/privacy`,
        services: [
          {
            service: pick(service?.name, consent.serviceId),
            serviceId: consent.serviceId,
            purposes: [
              {
                purpose: pick(purpose?.label, consent.purpose),
                purposeId: consent.purpose,
                purposeCategory: purpose ? [LEGAL_CATEGORIES[purpose.legalCategory][language]] : [],
                legalBasis: 'consent',
                consentType: 'EXPLICIT',
                piiCategory: attributes.map((a, i) => pick(a?.label, consent.attributes[i])),
                piiAttributes: consent.attributes,
                primaryPurpose: true,
                termination: consent.expiresAt
                  ? consent.expiresAt.toISOString()
                  : consent.mode === 'once'
                    ? 'after first use, or on revocation'
                    : 'on revocation',
                thirdPartyDisclosure: false,
              },
            ],
          },
        ],
        sensitive: sensitive.length > 0,
        spiCat: sensitive,
        // ISO/IEC TS 27560 record state
        status: consentStatus(consent),
        modality: consent.mode,
        validFrom: consent.grantedAt.toISOString(),
        validUntil: consent.expiresAt?.toISOString() ?? null,
        revokedAt: consent.revokedAt?.toISOString() ?? null,
      },
      'consent-receipt+jwt',
    );
  }

  view(consent: Consent): ConsentView {
    const registry = this.registry.current();
    return {
      id: consent.id,
      service: consent.serviceId,
      serviceName: registry.service(consent.serviceId)?.name ?? null,
      organisation: consent.organisationId,
      organisationName: registry.organisation(consent.organisationId)?.name ?? null,
      purpose: consent.purpose,
      purposeLabel: registry.purpose(consent.purpose)?.label ?? null,
      attributes: consent.attributes,
      mode: consent.mode,
      status: consentStatus(consent),
      grantedAt: consent.grantedAt.toISOString(),
      expiresAt: consent.expiresAt?.toISOString() ?? null,
      revokedAt: consent.revokedAt?.toISOString() ?? null,
      usedAt: consent.usedAt?.toISOString() ?? null,
      consentRequestId: consent.consentRequestId,
    };
  }

  private async find(em: EntityManager, citizenId: string, id: string, lock: boolean): Promise<Consent> {
    const consent = isUuid(id)
      ? await em.findOne(Consent, {
          where: { citizenId, id },
          ...(lock ? { lock: { mode: 'pessimistic_write' } } : {}),
        })
      : null;
    if (!consent) throw new DomainError('consent_not_found', `No consent ${id} of this citizen.`);
    return consent;
  }
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
