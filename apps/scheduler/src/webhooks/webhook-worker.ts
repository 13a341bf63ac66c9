import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import {
  type DeliveryOutcome,
  OutboxRelayService,
  WebhookDeliveryService,
  webhookBacklogLimit,
} from '#libs/outbox';
import { type DeliverWebhookJob, JOBS, OnJob, PeriodicTask, QueueService } from '#libs/queues';

/**
 * Feeds the webhook queue from the outbox rows and delivers them. The rows
 * are the truth: the queue only carries event ids, and a job lost with Redis
 * comes back when its claim lease ends.
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly relayTask: PeriodicTask;
  private readonly backlogLimit: number;

  constructor(
    config: AppConfig,
    private readonly relay: OutboxRelayService,
    private readonly delivery: WebhookDeliveryService,
    private readonly queues: QueueService,
  ) {
    this.backlogLimit = webhookBacklogLimit(config.webhookConcurrency, config.webhookTimeoutMs);
    this.relayTask = new PeriodicTask('outbox relay', config.outboxPollMs, () => this.relayOnce());
  }

  onApplicationBootstrap(): void {
    this.relayTask.start();
  }

  @OnJob(JOBS.deliverWebhook)
  deliver(job: DeliverWebhookJob): Promise<DeliveryOutcome> {
    return this.delivery.deliver(job.eventId, job.claim);
  }

  /**
   * Claims due events and queues one job per claim, carrying the claim. The
   * job id names the claim, not only the event: an event claimed again after
   * its lease (its job lost, or failed before recording the attempt) gets a
   * new job rather than being taken for the old one still kept in Redis.
   * Claims no more than the queue can start within their lease: what waits
   * or runs already counts against the backlog limit.
   */
  async relayOnce(): Promise<number> {
    const room = this.backlogLimit - (await this.queues.backlog(JOBS.deliverWebhook));
    const claimed = await this.relay.claimDueWebhooks(Math.min(room, 100));
    await this.queues.addBulk(
      claimed.map((event) => ({
        name: JOBS.deliverWebhook,
        data: { eventId: event.id, claim: new Date(event.leasedUntil).toISOString() },
        jobId: `${event.id}-a${event.attempts}-l${event.leasedUntil}`,
      })),
    );
    return claimed.length;
  }

  /** The relay stops before the workers and the queues close. */
  async onModuleDestroy(): Promise<void> {
    await this.relayTask.stop();
  }
}
