import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { ReleaseSummaries } from '#libs/metrics';
import { PeriodicTask } from '#libs/queues';

/** Counts each closed day's releases for the barometer, every RELEASE_SUMMARY_SECONDS. */
@Injectable()
export class ReleaseSummaryTask implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly task: PeriodicTask;

  constructor(config: AppConfig, summaries: ReleaseSummaries) {
    this.task = new PeriodicTask('release summary', config.releaseSummaryMs, () =>
      summaries.summariseClosedDays(),
    );
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }
}
