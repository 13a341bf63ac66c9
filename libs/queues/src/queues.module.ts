import { type DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JOB_CATALOGUE, type JobCatalogue } from './jobs.js';
import { JobWorkers } from './job-workers.js';
import { JOB_CATALOGUE_TOKEN, QueueService } from './queue.service.js';

/**
 * Queues by name. `forRoot()` lets an app add jobs; `forWorkers()` also runs
 * the app's `@OnJob` handlers, and refuses to boot while a job has none.
 */
@Module({})
export class QueuesModule {
  static forRoot(catalogue: JobCatalogue = JOB_CATALOGUE): DynamicModule {
    return {
      // Global: a lib's service (the reminder sweeper) adds jobs through the app's one QueueService.
      global: true,
      module: QueuesModule,
      providers: [{ provide: JOB_CATALOGUE_TOKEN, useValue: catalogue }, QueueService],
      exports: [QueueService],
    };
  }

  /** `catalogue`: the jobs whose handlers must all be found; every job of the platform unless a test says otherwise. */
  static forWorkers(catalogue: JobCatalogue = JOB_CATALOGUE): DynamicModule {
    const root = QueuesModule.forRoot(catalogue);
    return {
      ...root,
      imports: [DiscoveryModule],
      providers: [...root.providers!, JobWorkers],
      exports: [...root.exports!, JobWorkers],
    };
  }
}
