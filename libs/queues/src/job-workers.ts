import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { type Job, Worker } from 'bullmq';
import { Counter } from 'prom-client';
import type { Redis } from 'ioredis';
import { AppConfig } from '#libs/config';
import { QUEUES, type JobCatalogue } from './jobs.js';
import { ON_JOB } from './on-job.decorator.js';
import { JOB_CATALOGUE_TOKEN } from './queue.service.js';
import { workerConnection } from './redis-connections.js';

type Handler = (payload: unknown, job: Job) => Promise<unknown>;

/** Jobs one worker process runs at once, per queue. */
function concurrencyOf(queue: string, config: AppConfig): number {
  if (queue === QUEUES.webhooks) return config.webhookConcurrency;
  if (queue === QUEUES.reminders) return config.reminders.concurrency;
  return 1;
}

/**
 * How long a job's lock lasts without renewal (the worker renews it at half
 * that), and how often workers look for jobs whose lock ran out, per queue.
 * BullMQ's 30 s suit sends. A sweep holds its queue's one slot (global
 * concurrency 1): when its scheduler is killed, no sweep runs until the job
 * is seen stalled and taken again, so its lock is short.
 */
function lockingOf(queue: string): { lockDuration?: number; stalledInterval?: number } {
  if (queue === QUEUES.reminderSweeps) return { lockDuration: 5_000, stalledInterval: 5_000 };
  return {};
}

/**
 * Runs the job handlers (`@OnJob`) of the app's providers, one BullMQ worker
 * per queue. At boot, every job of the catalogue must have exactly one
 * handler, and every handler a job of the catalogue: otherwise the app
 * refuses to start, naming the job (as immich's JobRepository.setup does),
 * rather than leave jobs of that name waiting for ever.
 */
@Injectable()
export class JobWorkers implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobWorkers.name);
  private readonly handlers = new Map<string, Handler>();
  private readonly workers: Worker[] = [];
  private connection: Redis | null = null;
  /** Registered by the app in its metrics registry: every failed attempt, a retried one included. */
  readonly failures = new Counter({
    name: 'queue_job_failures_total',
    help: 'Job attempts that failed, by queue and job name',
    labelNames: ['queue', 'job'] as const,
    registers: [],
  });

  constructor(
    private readonly config: AppConfig,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(JOB_CATALOGUE_TOKEN) private readonly catalogue: JobCatalogue,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      if (!wrapper.isDependencyTreeStatic()) continue; // request-scoped: no instance to scan
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const method of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const handler = instance[method];
        const name: unknown = typeof handler === 'function' && Reflect.getMetadata(ON_JOB, handler);
        if (typeof name !== 'string') continue;
        if (this.handlers.has(name)) problems.push(`job ${name} has two handlers`);
        else if (!this.catalogue[name])
          problems.push(`handler ${method} is for job ${name}, which no queue has`);
        this.handlers.set(name, (handler as Handler).bind(instance));
      }
    }
    for (const name of Object.keys(this.catalogue)) {
      if (!this.handlers.has(name)) problems.push(`job ${name} has no handler`);
    }
    if (problems.length > 0) throw new Error(`Job handlers: ${problems.join('; ')}`);
  }

  onApplicationBootstrap(): void {
    this.connection = workerConnection(this.config.redisUrl);
    const queues = new Set(Object.values(this.catalogue).map((definition) => definition.queue));
    for (const queue of queues) {
      const worker = new Worker(queue, (job) => this.run(job), {
        connection: this.connection,
        prefix: this.config.redisPrefix,
        concurrency: concurrencyOf(queue, this.config),
        ...lockingOf(queue),
      });
      worker.on('failed', (job, error) => {
        this.failures.inc({ queue, job: job?.name ?? 'unknown' });
        this.logger.warn({ queue, job: job?.name, jobId: job?.id, error: error.message }, 'job failed');
      });
      worker.on('error', (error) => this.logger.warn({ queue, error: error.message }, 'worker error'));
      this.workers.push(worker);
    }
  }

  private async run(job: Job): Promise<unknown> {
    const definition = this.catalogue[job.name];
    const handler = this.handlers.get(job.name);
    if (!definition || !handler) throw new Error(`No handler for job ${job.name}`);
    return handler(definition.parse(job.data), job);
  }

  /** Workers close before the queues and the database: a job in flight finishes first. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.close()));
    this.connection?.disconnect();
  }
}
