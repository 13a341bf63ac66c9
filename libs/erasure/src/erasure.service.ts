import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { NotificationsService } from '#libs/channels';
import { ConsentRequestsService, ConsentsService } from '#libs/consent';
import { PairwiseIds } from '#libs/identity';
import { CalendarFeedsService, DeadlinesService } from '#libs/reminders';
import { AttributesService, CitizensService, DataKeysService } from '#libs/vault';
import { readErasureRegister, type RegisteredErasure, registerErasure } from './erasure-register.js';

export interface ReplayResult {
  /** Erasures re-applied (every one given, idempotently). */
  replayed: number;
  /** Of those, citizens whose data key was back (the restored backup predates their erasure). */
  restoredKeysDestroyed: number;
}

/**
 * Erasing a citizen: their values, history, data key (crypto-shredding),
 * organisations' identifiers, consents (revoked) and pending requests
 * (denied), deadlines with their reminders and calendar feed, portal notifications, and their login link; registered in the same transaction so a
 * restored backup can have it re-applied. The access log, the revoked
 * consents and the collection reports stay as the record of past disclosures.
 */
@Injectable()
export class ErasureService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly citizens: CitizensService,
    private readonly attributes: AttributesService,
    private readonly dataKeys: DataKeysService,
    private readonly consents: ConsentsService,
    private readonly consentRequests: ConsentRequestsService,
    private readonly pairwise: PairwiseIds,
    private readonly deadlines: DeadlinesService,
    private readonly calendarFeeds: CalendarFeedsService,
    private readonly notifications: NotificationsService,
  ) {}

  /** Erases the citizen now; answers the registered time. */
  async erase(citizenId: string): Promise<Date> {
    return (await this.dataSource.transaction((em) => this.eraseIn(em, citizenId, null))).erasedAt;
  }

  /**
   * After a restore: re-applies each erasure, one transaction each, keeping
   * its first time. Running it again changes nothing.
   */
  async replay(erasures: RegisteredErasure[]): Promise<ReplayResult> {
    let restoredKeysDestroyed = 0;
    for (const erasure of erasures) {
      const { hadKey } = await this.dataSource.transaction((em) =>
        this.eraseIn(em, erasure.citizenId, erasure.erasedAt),
      );
      if (hadKey) restoredKeysDestroyed += 1;
    }
    return { replayed: erasures.length, restoredKeysDestroyed };
  }

  /** This database's register, oldest first. */
  register(): Promise<RegisteredErasure[]> {
    return readErasureRegister(this.dataSource.manager);
  }

  private async eraseIn(
    em: EntityManager,
    citizenId: string,
    at: Date | null,
  ): Promise<{ erasedAt: Date; hadKey: boolean }> {
    // First: a write in flight has committed (and is erased below); a later one finds the citizen erased.
    const present = await this.citizens.lockForErasure(em, citizenId);
    const erasedAt = await registerErasure(em, citizenId, at);
    await this.attributes.deleteAll(em, citizenId);
    const hadKey = await this.dataKeys.destroy(em, citizenId);
    await this.consents.revokeAll(em, citizenId);
    await this.consentRequests.denyAllPending(em, citizenId);
    await this.pairwise.forget(em, citizenId);
    await this.deadlines.deleteAll(em, citizenId);
    await this.calendarFeeds.deleteAll(em, citizenId);
    await this.notifications.deleteAll(em, citizenId);
    if (present) await this.citizens.markErased(em, citizenId, erasedAt);
    return { erasedAt, hadKey };
  }
}
