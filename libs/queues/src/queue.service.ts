import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppConfig } from '#libs/config';
import { type JobCatalogue, type JobName, type JobPayloads } from './jobs.js';
import { producerConnection } from './redis-connections.js';

export const JOB_CATALOGUE_TOKEN = Symbol('une-fois:job-catalogue');

/** Finished jobs are trimmed: the rows in PostgreSQL, not Redis, are the record. */
export const KEEP_FINISHED_JOBS = {
  removeOnComplete: { count: 1000, age: 24 * 3600 },
  removeOnFail: { count: 1000, age: 24 * 3600 },
};

export interface NewJob<Name extends JobName> {
  name: Name;
  data: JobPayloads[Name];
  /** Deterministic, so the same job added twice runs once. */
  jobId: string;
}

/** Adds jobs to their queue, by job name; the catalogue says which queue. */
@Injectable()
export class QueueService implements OnApplicationShutdown {
  private connection: Redis | null = null;
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly config: AppConfig,
    @Inject(JOB_CATALOGUE_TOKEN) private readonly catalogue: JobCatalogue,
  ) {}

  async addBulk<Name extends JobName>(jobs: NewJob<Name>[]): Promise<void> {
    const byQueue = new Map<Queue, NewJob<Name>[]>();
    for (const job of jobs) {
      const queue = this.queue(this.catalogue[job.name].queue);
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), job]);
    }
    for (const [queue, batch] of byQueue) {
      await queue.addBulk(
        batch.map((job) => ({ name: job.name, data: job.data, opts: { jobId: job.jobId } })),
      );
    }
  }

  /** Jobs of that job's queue not yet finished: waiting to start, or running. */
  async backlog(name: JobName): Promise<number> {
    return this.queue(this.catalogue[name].queue).getJobCountByTypes('waiting', 'prioritized', 'active');
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      this.connection ??= producerConnection(this.config.redisUrl);
      queue = new Queue(name, {
        connection: this.connection,
        prefix: this.config.redisPrefix,
        defaultJobOptions: KEEP_FINISHED_JOBS,
      });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.connection?.disconnect();
  }
}
