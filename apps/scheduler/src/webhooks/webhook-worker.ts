import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { type DeliveryOutcome, OutboxRelayService, WebhookDeliveryService } from '#libs/outbox';
import { type DeliverWebhookJob, JOBS, OnJob, PeriodicTask, QueueService } from '#libs/queues';

/**
 * Feeds the webhook queue from the outbox rows and delivers them. The rows
 * are the truth: the queue only carries event ids, and a job lost with Redis
 * comes back when its claim lease ends.
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly relayTask: PeriodicTask;

  constructor(
    config: AppConfig,
    private readonly relay: OutboxRelayService,
    private readonly delivery: WebhookDeliveryService,
    private readonly queues: QueueService,
  ) {
    this.relayTask = new PeriodicTask('outbox relay', config.outboxPollMs, () => this.relayOnce());
  }

  onApplicationBootstrap(): void {
    this.relayTask.start();
  }

  @OnJob(JOBS.deliverWebhook)
  deliver(job: DeliverWebhookJob): Promise<DeliveryOutcome> {
    return this.delivery.deliver(job.eventId);
  }

  /**
   * Claims due events and queues one job per claim. The job id names the
   * claim, not only the event: an event claimed again after its lease (its
   * job lost, or failed before recording the attempt) gets a new job rather
   * than being taken for the old one still kept in Redis.
   */
  async relayOnce(): Promise<number> {
    const claimed = await this.relay.claimDueWebhooks();
    await this.queues.addBulk(
      claimed.map((event) => ({
        name: JOBS.deliverWebhook,
        data: { eventId: event.id },
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
