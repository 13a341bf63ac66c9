import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import {
  MAX_METRIC_EVENTS_PER_BATCH,
  MetricDeliveryService,
  type MetricDeliveryOutcome,
} from '#libs/metrics';
import {
  type DeliveryOutcome,
  OutboxRelayService,
  WebhookDeliveryService,
  webhookBacklogLimit,
} from '#libs/outbox';
import {
  type DeliverMetricsJob,
  type DeliverWebhookJob,
  JOBS,
  OnJob,
  PeriodicTask,
  QueueService,
} from '#libs/queues';

/**
 * Batches of metric events waiting or in flight at once, over every
 * scheduler process: the barometer takes them one after the other, and each
 * starts well within its claim's lease.
 */
const METRIC_BACKLOG_LIMIT = 4;

/** Finished metric jobs Redis keeps: each carries up to 500 ids. */
const METRIC_JOBS_KEPT = 20;

/**
 * The outbox relay: one periodic task claims the due events of every topic
 * and queues their delivery — webhooks one job per event, metric events one
 * job per batch for the barometer. The rows are the truth: the queue only
 * carries event ids and the claim, and a job lost with Redis comes back when
 * its claim's lease ends.
 */
@Injectable()
export class OutboxRelayWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly relayTask: PeriodicTask;
  private readonly backlogLimit: number;

  constructor(
    config: AppConfig,
    private readonly relay: OutboxRelayService,
    private readonly webhooks: WebhookDeliveryService,
    private readonly metrics: MetricDeliveryService,
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
    return this.webhooks.deliver(job.eventId, job.claim);
  }

  @OnJob(JOBS.deliverMetrics)
  deliverMetrics(job: DeliverMetricsJob): Promise<MetricDeliveryOutcome> {
    return this.metrics.deliver(job.eventIds, job.claim);
  }

  /** Claims due events of every topic and queues their jobs; how many events it claimed. */
  async relayOnce(): Promise<number> {
    return (await this.relayWebhooks()) + (await this.relayMetrics());
  }

  /**
   * One job per claim, carrying it. The job id names the claim, not only the
   * event: an event claimed again after its lease (its job lost, or failed
   * before recording the attempt) gets a new job rather than being taken for
   * the old one still kept in Redis. Claims no more than the queue can start
   * within their lease: what waits or runs already counts against the
   * backlog limit.
   */
  async relayWebhooks(): Promise<number> {
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

  /**
   * One job per batch of metric events; its id names the claim by its first
   * event and lease. Claims batch after batch while they come full and the
   * backlog has room, so a backlog (a busy hour, a resend) leaves at the
   * barometer's pace rather than one batch per poll.
   */
  async relayMetrics(): Promise<number> {
    let relayed = 0;
    for (
      let backlog = await this.queues.backlog(JOBS.deliverMetrics);
      backlog < METRIC_BACKLOG_LIMIT;
      backlog++
    ) {
      const batch = await this.relay.claimDueMetrics(MAX_METRIC_EVENTS_PER_BATCH);
      if (!batch) break;
      await this.queues.addBulk([
        {
          name: JOBS.deliverMetrics,
          data: { eventIds: batch.ids, claim: new Date(batch.leasedUntil).toISOString() },
          jobId: `metrics-${batch.ids[0]}-l${batch.leasedUntil}`,
          keepFinished: METRIC_JOBS_KEPT,
        },
      ]);
      relayed += batch.ids.length;
      if (batch.ids.length < MAX_METRIC_EVENTS_PER_BATCH) break;
    }
    return relayed;
  }

  /** The relay stops before the workers and the queues close. */
  async onModuleDestroy(): Promise<void> {
    await this.relayTask.stop();
  }
}
