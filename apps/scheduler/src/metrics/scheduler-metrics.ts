import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsRegistry } from '#libs/http';
import { OutboxRelayService } from '#libs/outbox';
import { JobWorkers, QueueService } from '#libs/queues';

/** How long a scrape waits for Redis or PostgreSQL: a server that does not answer leaves its gauges empty, the scrape answers. */
const COLLECT_TIMEOUT_MS = 2_000;

function withinCollectTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no answer in time')), COLLECT_TIMEOUT_MS);
  });
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * What the scheduler's /metrics adds to the HTTP platform's: the queues'
 * depths by state and their failed attempts, the outbox's lag per topic (the
 * age of its oldest undelivered event). Read at each scrape; labels name
 * queues, jobs and topics, nothing of a citizen.
 */
@Injectable()
export class SchedulerMetrics {
  constructor(
    metrics: MetricsRegistry,
    workers: JobWorkers,
    queues: QueueService,
    relay: OutboxRelayService,
  ) {
    metrics.registry.registerMetric(workers.failures);
    new Gauge({
      name: 'queue_jobs',
      help: 'Jobs Redis holds per queue and state (finished jobs are trimmed)',
      labelNames: ['queue', 'state'] as const,
      registers: [metrics.registry],
      async collect() {
        const depths = await withinCollectTimeout(queues.depths()).catch(() => null);
        this.reset();
        for (const [queue, counts] of depths ?? []) {
          for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
        }
      },
    });
    new Gauge({
      name: 'outbox_lag_seconds',
      help: 'Age of the oldest undelivered outbox event, per topic (0 when none waits)',
      labelNames: ['topic'] as const,
      registers: [metrics.registry],
      async collect() {
        const lag = await withinCollectTimeout(relay.lag()).catch(() => null);
        this.reset();
        if (!lag) return;
        for (const topic of ['webhook', 'metric'] as const) this.set({ topic }, lag.get(topic) ?? 0);
      },
    });
  }
}
