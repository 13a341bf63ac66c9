import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AppConfig } from '#libs/config';
import {
  JOBS,
  OutboxRelayService,
  parseDeliverWebhookJob,
  QUEUES,
  WebhookDeliveryService,
} from '#libs/outbox';

type Handler = (job: Job) => Promise<unknown>;

/**
 * Feeds the webhook queue from the outbox rows and delivers them. The rows
 * are the truth: the queue only carries event ids, and a job lost with Redis
 * comes back when its claim lease ends.
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookWorker.name);
  private readonly handlers: Record<string, Handler>;
  private connection: Redis | null = null;
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private relayTimer: NodeJS.Timeout | null = null;
  private relaying = false;

  constructor(
    private readonly config: AppConfig,
    private readonly relay: OutboxRelayService,
    private readonly delivery: WebhookDeliveryService,
  ) {
    this.handlers = {
      [JOBS.deliverWebhook]: (job) => this.delivery.deliver(parseDeliverWebhookJob(job.data).eventId),
    };
  }

  onApplicationBootstrap(): void {
    const missing = Object.values(JOBS).filter((name) => !this.handlers[name]);
    if (missing.length > 0) throw new Error(`No handler for job type(s): ${missing.join(', ')}`);
    this.connection = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    this.connection.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
    const options = { connection: this.connection, prefix: this.config.redisPrefix };
    this.queue = new Queue(QUEUES.webhooks, options);
    this.worker = new Worker(
      QUEUES.webhooks,
      async (job) => {
        const handler = this.handlers[job.name];
        if (!handler) throw new Error(`No handler for job ${job.name}`);
        return handler(job);
      },
      { ...options, concurrency: this.config.webhookConcurrency },
    );
    this.worker.on('failed', (job, error) =>
      this.logger.warn({ jobId: job?.id, error: error.message }, 'job failed'),
    );
    this.relayTimer = setInterval(() => void this.relayOnce(), this.config.outboxPollMs);
  }

  /** Claims due events and queues one job per attempt (the job id dedupes a double claim). */
  async relayOnce(): Promise<number> {
    if (this.relaying || !this.queue) return 0;
    this.relaying = true;
    try {
      const claimed = await this.relay.claimDueWebhooks();
      if (claimed.length > 0) {
        await this.queue.addBulk(
          claimed.map((event) => ({
            name: JOBS.deliverWebhook,
            data: { eventId: event.id },
            opts: { jobId: `${event.id}-a${event.attempts}`, removeOnComplete: 1000, removeOnFail: 1000 },
          })),
        );
      }
      return claimed.length;
    } catch (error) {
      this.logger.warn(`outbox relay failed: ${(error as Error).message}`);
      return 0;
    } finally {
      this.relaying = false;
    }
  }

  /** Workers close before the queue; an in-flight delivery finishes first. */
  async onApplicationShutdown(): Promise<void> {
    if (this.relayTimer) clearInterval(this.relayTimer);
    await this.worker?.close();
    await this.queue?.close();
    this.connection?.disconnect();
  }
}
