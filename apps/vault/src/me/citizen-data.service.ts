import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type AccessLogEntry, AccessLogService } from '#libs/access-log';
import { RegistryService } from '#libs/catalogue';
import { ConsentRequestsService, ConsentsService } from '#libs/consent';
import { ErasureService } from '#libs/erasure';
import { type CitizenIdentity, PairwiseIds } from '#libs/identity';
import { NotificationsService } from '#libs/channels';
import { CollectionReports } from '#libs/metrics';
import { DeadlinesService } from '#libs/reminders';
import {
  AttributesService,
  type Citizen,
  CitizensService,
  type HeldProfile,
  lockLiveCitizen,
  type Preferences,
} from '#libs/vault';
import { CitizenResolver } from '../auth/citizen-auth.guard.js';
import { deadlineView, notificationView } from './dto/deadline-view.js';

export interface ErasureReport {
  erasedAt: string;
  erased: string[];
  retained: { what: string; why: { fr: string; en: string } }[];
}

/** The use cases that span the vault's domain libs: the profile view, export and erasure. */
@Injectable()
export class CitizenDataService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly citizens: CitizensService,
    private readonly attributes: AttributesService,
    private readonly consents: ConsentsService,
    private readonly consentRequests: ConsentRequestsService,
    private readonly accessLog: AccessLogService,
    private readonly registry: RegistryService,
    private readonly pairwise: PairwiseIds,
    private readonly erasure: ErasureService,
    private readonly collectionReports: CollectionReports,
    private readonly deadlines: DeadlinesService,
    private readonly notifications: NotificationsService,
    private readonly resolver: CitizenResolver,
  ) {}

  /** The citizen's values with where each came from, found with the citizen in one statement. */
  async profile(identity: CitizenIdentity) {
    const { language, held } =
      (await this.attributes.listBySubject(identity.issuer, identity.subject)) ??
      (await this.firstProfile(identity));
    const registry = this.registry.current();
    return {
      language,
      attributes: held.map(({ attribute, value, source, updatedAt }) => ({
        attribute,
        value,
        source,
        updatedAt,
        label: registry.attribute(attribute)?.label ?? null,
        sourceName: this.attributes.describeSource(source).sourceName,
      })),
    };
  }

  /** The profile of a subject seen for the first time, created with what their token's identity claims give. */
  private async firstProfile(identity: CitizenIdentity): Promise<HeldProfile> {
    const citizen = await this.resolver.resolve(identity);
    return {
      citizenId: citizen.id,
      language: citizen.language,
      held: await this.attributes.list(citizen.id),
    };
  }

  /** A self-declared value (contact details); services holding an ongoing consent on it hear of the change. */
  async declare(citizen: Citizen, attribute: string, raw: unknown) {
    const value = this.attributes.checkDeclarable(attribute, raw);
    const held = await this.dataSource.transaction(async (em) => {
      const written = await this.attributes.write(em, citizen.id, attribute, value, { kind: 'citizen' });
      await this.deadlines.onAttributeWritten(em, citizen.id, attribute, value);
      await this.consents.announceChange(
        em,
        this.registry.current(),
        citizen.id,
        attribute,
        written.source,
        written.updatedAt,
        'citizen',
      );
      return written;
    });
    return { ...held, ...this.attributes.describeSource(held.source) };
  }

  /** New preferences; scheduled reminders are placed again under the new quiet hours, in the same transaction. */
  async updatePreferences(citizen: Citizen, preferences: Preferences): Promise<Preferences> {
    return this.dataSource.transaction(async (em) => {
      await lockLiveCitizen(em, citizen.id);
      const updated = await this.citizens.updatePreferences(citizen.id, preferences, em);
      await this.deadlines.replan(em, citizen.id, updated.quietHours);
      return updated;
    });
  }

  /** Everything held about the citizen, in one consistent snapshot. */
  async export(citizen: Citizen) {
    return this.dataSource.transaction('REPEATABLE READ', async (em) => {
      const current = await this.citizens.get(citizen.id, em);
      return {
        format: 'une-fois-export/1',
        exportedAt: new Date().toISOString(),
        profile: { id: current.id, issuer: current.issuer, createdAt: current.createdAt.toISOString() },
        preferences: this.citizens.preferences(current),
        attributes: await this.attributes.list(citizen.id, em),
        attributeHistory: await this.attributes.history(citizen.id, em),
        consents: await this.consents.list(citizen.id, em),
        consentRequests: await this.consentRequests.listAll(citizen.id, em),
        accessLog: (await this.accessLog.all(citizen.id, em)).map(accessLogView),
        pairwiseIds: await this.pairwise.list(em, citizen.id),
        collectionReports: await this.collectionReports.forCitizen(em, citizen.id),
        deadlines: (await this.deadlines.forCitizen(citizen.id, em)).map((d) =>
          deadlineView(d, this.registry.current()),
        ),
        notifications: (await this.notifications.all(em, citizen.id)).map(notificationView),
      };
    });
  }

  /**
   * Erases every value, its history and the data key that could open them
   * (crypto-shredding), revokes consents and detaches the profile from the
   * citizen's login, and registers the erasure so that it is re-applied to
   * a restored backup (see the README, "Erasure and backups"). What the
   * platform must keep to account for past accesses stays.
   */
  async erase(citizen: Citizen): Promise<ErasureReport> {
    const erasedAt = await this.erasure.erase(citizen.id);
    return {
      erasedAt: erasedAt.toISOString(),
      erased: [
        'attributes',
        'attributeHistory',
        'dataKey',
        'preferences',
        'pairwiseIds',
        'deadlines',
        'calendarFeed',
        'notifications',
        'login',
      ],
      retained: [
        {
          what: 'accessLog',
          why: {
            fr: 'Le journal des accès (sans aucune valeur) est conservé pour rendre compte des communications passées.',
            en: 'The access log (which holds no values) is kept to account for past disclosures.',
          },
        },
        {
          what: 'consents',
          why: {
            fr: 'Les consentements, tous révoqués, sont conservés comme preuve des communications qu’ils ont permises.',
            en: 'Consents, all revoked, are kept as proof of the disclosures they allowed.',
          },
        },
        {
          what: 'collectionReports',
          why: {
            fr: 'Les déclarations des services sur ce qu’ils vous ont demandé (sans valeurs) servent à mesurer le « dites-le une fois ».',
            en: 'Services’ reports of what they asked you (without values) measure "tell us once".',
          },
        },
      ],
    };
  }
}

export function accessLogView(entry: AccessLogEntry) {
  return {
    seq: entry.seq,
    at: entry.at.toISOString(),
    service: entry.serviceId,
    organisation: entry.organisationId,
    purpose: entry.purpose,
    attributes: entry.attributes,
    outcome: entry.outcome,
    released: entry.released,
    withheld: entry.withheld,
    basis: entry.basis,
    requestId: entry.requestId,
    prevHash: entry.prevHash,
    hash: entry.hash,
  };
}
