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
  /** Runs at most this many times; between runs BullMQ waits `backoffMs`, doubled each time. */
  retry?: { attempts: number; backoffMs: number };
  /** Finished jobs of this kind Redis keeps, when fewer than KEEP_FINISHED_JOBS (jobs with large data). */
  keepFinished?: number;
}

/** The job states a queue's depth is reported in. */
export const QUEUE_DEPTH_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed'] as const;
export type QueueDepthState = (typeof QUEUE_DEPTH_STATES)[number];

/** What Redis says of a job: BullMQ's state, or `unknown` when it holds no job of that id. */
export type JobState = Awaited<ReturnType<Queue['getJobState']>>;

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
        batch.map((job) => ({
          name: job.name,
          data: job.data,
          opts: {
            jobId: job.jobId,
            ...(job.retry && {
              attempts: job.retry.attempts,
              backoff: { type: 'exponential', delay: job.retry.backoffMs },
            }),
            ...(job.keepFinished !== undefined && {
              removeOnComplete: { count: job.keepFinished, age: KEEP_FINISHED_JOBS.removeOnComplete.age },
              removeOnFail: { count: job.keepFinished, age: KEEP_FINISHED_JOBS.removeOnFail.age },
            }),
          },
        })),
      );
    }
  }

  /** Each queue's jobs by state, as Redis holds them (finished ones trimmed: KEEP_FINISHED_JOBS). */
  async depths(): Promise<Map<string, Record<QueueDepthState, number>>> {
    const queues = [...new Set(Object.values(this.catalogue).map((definition) => definition.queue))];
    const counts = await Promise.all(
      queues.map((name) => this.queue(name).getJobCounts(...QUEUE_DEPTH_STATES)),
    );
    return new Map(queues.map((name, i) => [name, counts[i] as Record<QueueDepthState, number>]));
  }

  /** Jobs of that job's queue not yet finished: waiting to start, or running. */
  async backlog(name: JobName): Promise<number> {
    return this.queue(this.catalogue[name].queue).getJobCountByTypes('waiting', 'prioritized', 'active');
  }

  /** Jobs of that job's queue Redis holds unfinished: waiting, running, or delayed before a retry. */
  async unfinished(name: JobName): Promise<number> {
    return this.queue(this.catalogue[name].queue).getJobCountByTypes(
      'waiting',
      'prioritized',
      'active',
      'delayed',
    );
  }

  /**
   * The state of each of these jobs of that job's queue; `absent` when Redis
   * holds no job under that id (no job hash: BullMQ writes it before listing
   * the job, and adding under that id is free). One pipelined round trip
   * finds which ids have a hash; only those are asked their state.
   */
  async states(name: JobName, jobIds: string[]): Promise<Map<string, JobState | 'absent'>> {
    const queue = this.queue(this.catalogue[name].queue);
    const pipeline = this.connection!.pipeline();
    for (const id of jobIds) pipeline.exists(queue.toKey(id));
    const found = ((await pipeline.exec()) ?? []).map(([error, exists]: [Error | null, unknown]) => {
      if (error) throw error;
      return exists === 1;
    });
    const held = jobIds.filter((_id, index) => found[index]);
    const states = await Promise.all(held.map((id) => queue.getJobState(id)));
    const result = new Map<string, JobState | 'absent'>(jobIds.map((id) => [id, 'absent']));
    held.forEach((id, index) => result.set(id, states[index]));
    return result;
  }

  /** Removes jobs that are not running (finished, or a hash left outside every list), so their ids can be used again. */
  async remove(name: JobName, jobIds: string[]): Promise<void> {
    const queue = this.queue(this.catalogue[name].queue);
    await Promise.all(jobIds.map((id) => queue.remove(id)));
  }

  /**
   * Has Redis run that job every `everyMs`, one run at a time over every
   * process: BullMQ's job scheduler, keyed by the job's name, on a queue
   * whose global concurrency is 1, so a run still going when the next is due
   * hands over to it rather than overlapping it. Each is written only when
   * Redis has none (or a scheduler of another period), so replicas calling
   * this again (periodically, or after Redis lost it) do not move its next
   * run back. Whether it wrote either.
   */
  async every<Name extends JobName>(name: Name, everyMs: number, data: JobPayloads[Name]): Promise<boolean> {
    const queue = this.queue(this.catalogue[name].queue);
    const [current, concurrency] = await Promise.all([
      queue.getJobScheduler(name),
      queue.getGlobalConcurrency(),
    ]);
    if (concurrency !== 1) await queue.setGlobalConcurrency(1);
    if (current && Number(current.every) === everyMs) return concurrency !== 1;
    await queue.upsertJobScheduler(name, { every: everyMs }, { name, data, opts: KEEP_FINISHED_JOBS });
    return true;
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
