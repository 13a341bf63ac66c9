import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AccessLogCheckpoints } from '#libs/access-log';
import { AppConfig } from '#libs/config';

/**
 * Publishes rule 4's signed checkpoint over the access-log chains every
 * ACCESS_LOG_CHECKPOINT_MINUTES. Several schedulers may run: publishing is
 * serialised in the database, and a checkpoint is only made when the latest
 * one is a period old.
 */
@Injectable()
export class CheckpointPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(CheckpointPublisher.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly config: AppConfig,
    private readonly checkpoints: AccessLogCheckpoints,
  ) {}

  onApplicationBootstrap(): void {
    const period = this.config.accessLogCheckpointMs;
    if (period > 0) this.timer = setInterval(() => void this.publishIfDue(), Math.min(period, 60_000));
  }

  /** The checkpoints made: none when the latest is younger than the period or no chain grew. */
  async publishIfDue(now?: Date): Promise<number[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const published = await this.checkpoints.publish({
        ifOlderThanMs: this.config.accessLogCheckpointMs,
        now,
      });
      for (const checkpoint of published)
        this.logger.log({ checkpoint: checkpoint.seq, chains: checkpoint.size }, 'checkpoint signed');
      return published.map((checkpoint) => checkpoint.seq);
    } catch (error) {
      this.logger.warn(`access-log checkpoint failed: ${(error as Error).message}`);
      return [];
    } finally {
      this.running = false;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
