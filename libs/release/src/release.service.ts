import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import type { AccessBasis } from '#libs/access-log';
import { RegistryService, type RegistrySnapshot } from '#libs/catalogue';
import { approvalUrl, ConsentRequestsService } from '#libs/consent';
import { AppConfig, Clock } from '#libs/config';
import { isDatabaseUnavailable } from '#libs/database';
import { DomainError, loggableError } from '#libs/errors';
import type { ServicePrincipal } from '#libs/identity';
import { DataKeysService, decryptAttribute } from '#libs/vault';
import type { DataResponse } from './data-response.js';
import { decide } from './release-rule.js';
import {
  AppendBatchFailed,
  ReleaseConflict,
  type ReleaseRecord,
  type ReleaseSnapshot,
  ReleaseStore,
} from './release.store.js';

export interface DataRequestInput {
  ppid: string;
  purpose: string;
  attributes: string[];
}

/**
 * How many times a release holding the chain's lock is redone: only a
 * citizen's revocation (or an expiry) between its read and its write makes
 * it start again, never another request; past this, something is wrong.
 */
const LOCKED_ATTEMPTS = 5;

/**
 * "Reuse instead of re-ask": releases what rule 1 allows, logs the access in
 * the citizen's chain and records the service's activity, atomically. If any
 * of it fails, nothing is released (fail closed).
 *
 * Requests for one citizen never fail for each other: the first attempt is
 * optimistic (two statements, no transaction); when another request was
 * appending to the same chain, the release is redone in a transaction that
 * first waits for the chain's lock, then reads afresh (a new statement sees
 * every append committed before the lock was granted), decides and writes.
 * Locked releases queue behind each other (a bounded wait: see oneAtATime);
 * requests for other citizens take other locks and do not wait.
 */
@Injectable()
export class ReleaseService {
  private readonly logger = new Logger(ReleaseService.name);
  /** The tail of each citizen's queue of locked releases in this process. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly registry: RegistryService,
    private readonly store: ReleaseStore,
    private readonly dataKeys: DataKeysService,
    private readonly consentRequests: ConsentRequestsService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async handle(service: ServicePrincipal, input: DataRequestInput): Promise<DataResponse> {
    // One registry version decides the whole request, whatever a reload does meanwhile.
    const registry = this.registry.current();
    if (!registry.purpose(input.purpose))
      throw new DomainError('unknown_purpose', `No purpose "${input.purpose}".`);
    const attributes = registry.knownAttributes(input.attributes);
    const attempt = (lockFor: string | null) => this.attempt(registry, service, input, attributes, lockFor);
    try {
      return await attempt(null);
    } catch (error) {
      if (!(error instanceof ReleaseConflict)) throw error;
      const citizenId = error.citizenId!;
      return this.oneAtATime(citizenId, async () => {
        for (let locked = 1; ; locked++) {
          try {
            return await attempt(citizenId);
          } catch (error) {
            if (error instanceof ReleaseConflict && locked < LOCKED_ATTEMPTS) continue;
            throw error instanceof ReleaseConflict ? this.unavailable(error) : error;
          }
        }
      });
    }
  }

  /**
   * One attempt. Without `lockFor`, optimistic: the read on any pooled
   * connection and the write gathered with other requests' (a group commit,
   * ReleaseStore.append), or in a transaction of its own when it uses up a
   * one-time consent or proposes a consent request. With `lockFor`, in a
   * transaction holding that citizen's chain lock from the start.
   */
  private async attempt(
    registry: RegistrySnapshot,
    service: ServicePrincipal,
    input: DataRequestInput,
    attributes: string[],
    lockFor: string | null,
  ): Promise<DataResponse> {
    const transaction = new LazyTransaction(this.dataSource);
    try {
      if (lockFor) await this.store.lockChain(await transaction.begin(), lockFor);
      const response = await this.release(transaction, registry, service, input, attributes);
      await transaction.commit();
      return response;
    } catch (error) {
      await transaction.rollback();
      if (isDatabaseUnavailable(error) || error instanceof AppendBatchFailed) throw this.unavailable(error);
      // A refusal, a conflict to redo, or a fault (a value that does not open, a bug): not an outage
      // to retry, so the problem filter answers it, a fault as a 500 with a correlation id.
      throw error;
    } finally {
      await transaction.release();
    }
  }

  private unavailable(error: unknown): DomainError {
    this.logger.error({ err: loggableError(error) }, 'data request failed; nothing released');
    return new DomainError(
      'service_unavailable',
      'The request could not be completed; nothing was released.',
    );
  }

  /**
   * Runs this process's locked releases for one citizen one after the
   * other, so that requests queued for one chain wait here rather than on
   * the lock with a pooled connection each: the pool stays free for other
   * citizens. (Other processes queue on the database lock, one connection
   * each at most.) A request waits here at most RELEASE_QUEUE_TIMEOUT_MILLISECONDS,
   * then answers 503 with nothing released: one stuck release does not
   * hold every later request for its citizen.
   */
  private async oneAtATime<T>(citizenId: string, work: () => Promise<T>): Promise<T> {
    const before = this.queues.get(citizenId) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    // Whoever comes next waits for `before` too, even when this request gave up waiting.
    const tail = before.then(() => mine);
    this.queues.set(citizenId, tail);
    try {
      if (!(await settlesWithin(before, this.config.releaseQueueTimeoutMs))) {
        this.logger.warn('a data request waited too long behind others for its citizen; nothing released');
        throw new DomainError(
          'service_unavailable',
          'Other requests for this citizen are still being served; nothing was released. Retry shortly.',
        );
      }
      return await work();
    } finally {
      done();
      void tail.then(() => {
        if (this.queues.get(citizenId) === tail) this.queues.delete(citizenId);
      });
    }
  }

  /**
   * One read, then one write statement that is atomic on its own (log entry,
   * used-up one-time consents, activity event): outside a held lock, no
   * explicit transaction, which saves two round trips per request, and the
   * write shared with other requests'. The read and the write see different
   * snapshots, as they would in a READ COMMITTED transaction; what matters is
   * re-checked by the write (the chain's lock and position, one-time consents
   * still active) and raises ReleaseConflict. Two rarer paths run in a
   * transaction: using up one-time consents (the check that none was used or
   * revoked meanwhile follows the statement) and proposing a consent request
   * (more writes).
   */
  private async release(
    transaction: LazyTransaction,
    registry: RegistrySnapshot,
    service: ServicePrincipal,
    input: DataRequestInput,
    attributes: string[],
  ): Promise<DataResponse> {
    const readable = attributes.filter((a) => registry.canRead(service.serviceId, a, input.purpose));
    const snapshot = await this.store.read(
      transaction.manager,
      service.organisationId,
      input.ppid,
      service.serviceId,
      input.purpose,
      readable,
    );
    if (!snapshot) throw new DomainError('citizen_not_found', 'Unknown pairwise id for your organisation.');
    try {
      return await this.releaseFor(transaction, registry, service, input, attributes, snapshot);
    } catch (error) {
      if (error instanceof ReleaseConflict) error.citizenId = snapshot.citizenId;
      throw error;
    }
  }

  private async releaseFor(
    transaction: LazyTransaction,
    registry: RegistrySnapshot,
    service: ServicePrincipal,
    input: DataRequestInput,
    attributes: string[],
    snapshot: ReleaseSnapshot,
  ): Promise<DataResponse> {
    const { citizenId } = snapshot;
    const decisions = decide(registry, service.serviceId, input.purpose, attributes, snapshot.consents);
    const key = snapshot.key ? this.dataKeys.unwrap({ citizenId, ...snapshot.key }) : null;
    const held = new Map(snapshot.held.map((v) => [v.attribute, v]));
    const released: DataResponse['released'] = [];
    const withheld: DataResponse['withheld'] = [];
    const basis: AccessBasis[] = [];
    for (const decision of decisions) {
      if (!decision.allowed) {
        withheld.push({ attribute: decision.attribute, reason: decision.reason });
        continue;
      }
      const value = held.get(decision.attribute);
      if (!value || !key) {
        withheld.push({ attribute: decision.attribute, reason: 'not_held' });
        continue;
      }
      released.push({
        attribute: value.attribute,
        value: decryptAttribute(key, value.ciphertext, citizenId, value.attribute),
        source: value.source,
        updatedAt: value.updatedAt,
      });
      basis.push(decision.basis);
    }

    const usedConsents = new Set(basis.flatMap((b) => (b.kind === 'consent' ? [b.consentId] : [])));
    const onceConsentsUsed = snapshot.consents
      .filter((c) => c.mode === 'once' && usedConsents.has(c.id))
      .map((c) => c.id);
    const toAsk = withheld.filter((w) => w.reason === 'consent_required').map((w) => w.attribute);
    // A one-time consent found used or revoked meanwhile is only known once the write ran: it must roll back.
    const em =
      toAsk.length > 0 || onceConsentsUsed.length > 0 ? await transaction.begin() : transaction.manager;
    const proposal =
      toAsk.length > 0
        ? await this.consentRequests.proposeFor(
            em!,
            registry,
            citizenId,
            service.serviceId,
            input.purpose,
            toAsk,
          )
        : null;

    const requestId = randomUUID();
    const issuedAt = this.clock.now();
    const record: ReleaseRecord = {
      citizenId,
      serviceId: service.serviceId,
      organisationId: service.organisationId,
      purpose: input.purpose,
      requestId,
      at: issuedAt,
      attributes,
      outcome: released.length === 0 ? 'withheld' : withheld.length === 0 ? 'released' : 'partial',
      released: released.map((r) => r.attribute),
      withheld,
      basis,
      onceConsentsUsed,
    };
    if (em) await this.store.write(em, snapshot.head, record);
    else await this.store.append(snapshot.head, record);
    return {
      requestId,
      // What the signature binds the values to: this citizen (as the service knows them), this
      // service, this purpose, this moment. A response cannot be passed off as another's.
      citizen: { ppid: input.ppid },
      service: service.serviceId,
      purpose: input.purpose,
      issuedAt: issuedAt.toISOString(),
      released,
      withheld,
      ...(proposal
        ? { consentRequest: { id: proposal.id, approvalUrl: approvalUrl(this.config, proposal.id) } }
        : {}),
    };
  }
}

/** True when `promise` settles within `ms`, false past it. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The transaction of one attempt, begun on a connection of its own only once something needs it. */
class LazyTransaction {
  private runner: QueryRunner | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /** The transaction's manager once begun; null before. */
  get manager(): EntityManager | null {
    return this.runner?.manager ?? null;
  }

  async begin(): Promise<EntityManager> {
    if (!this.runner) {
      this.runner = this.dataSource.createQueryRunner();
      await this.runner.connect();
      await this.runner.startTransaction();
    }
    return this.runner.manager;
  }

  async commit(): Promise<void> {
    if (this.runner?.isTransactionActive) await this.runner.commitTransaction();
  }

  async rollback(): Promise<void> {
    if (this.runner?.isTransactionActive) await this.runner.rollbackTransaction().catch(() => undefined);
  }

  async release(): Promise<void> {
    await this.runner?.release();
  }
}
