import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AccessLogCheckpoints } from '#libs/access-log';
import { AppConfig } from '#libs/config';
import { PeriodicTask } from '#libs/queues';

/**
 * Publishes rule 4's signed checkpoint over the access-log chains every
 * ACCESS_LOG_CHECKPOINT_MINUTES. Several schedulers may run: publishing is
 * serialised in the database, and a checkpoint is only made when the latest
 * one is a period old.
 */
@Injectable()
export class CheckpointPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(CheckpointPublisher.name);
  private readonly task: PeriodicTask | null;

  constructor(
    private readonly config: AppConfig,
    private readonly checkpoints: AccessLogCheckpoints,
  ) {
    const period = config.accessLogCheckpointMs;
    // Looks at least every minute: the period counts from the latest checkpoint, whoever made it.
    this.task =
      period > 0
        ? new PeriodicTask('access-log checkpoint', Math.min(period, 60_000), () => this.publishIfDue())
        : null;
  }

  onApplicationBootstrap(): void {
    this.task?.start();
  }

  /** The checkpoints made: none when the latest is younger than the period or no chain grew. */
  async publishIfDue(now?: Date): Promise<number[]> {
    const published = await this.checkpoints.publish({
      ifOlderThanMs: this.config.accessLogCheckpointMs,
      now,
    });
    for (const checkpoint of published)
      this.logger.log({ checkpoint: checkpoint.seq, chains: checkpoint.size }, 'checkpoint signed');
    return published.map((checkpoint) => checkpoint.seq);
  }

  async onModuleDestroy(): Promise<void> {
    await this.task?.stop();
  }
}
