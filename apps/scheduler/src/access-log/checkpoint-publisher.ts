import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AccessLogCheckpoints } from '#libs/access-log';
import { AppConfig } from '#libs/config';

/**
 * Publishes rule 4's signed checkpoint over the access-log chains every
 * ACCESS_LOG_CHECKPOINT_MINUTES. Several schedulers may run: a checkpoint is
 * only made when the latest one is a period old, and publishing is
 * serialised in the database.
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

  /** The checkpoint made, or null when none was due or no chain grew. */
  async publishIfDue(now = new Date()): Promise<number | null> {
    if (this.running) return null;
    this.running = true;
    try {
      const [latest] = await this.checkpoints.list(1);
      if (latest && now.getTime() - Date.parse(latest.at) < this.config.accessLogCheckpointMs) return null;
      const checkpoint = await this.checkpoints.publish(now);
      if (checkpoint)
        this.logger.log({ checkpoint: checkpoint.id, chains: checkpoint.size }, 'checkpoint signed');
      return checkpoint?.id ?? null;
    } catch (error) {
      this.logger.warn(`access-log checkpoint failed: ${(error as Error).message}`);
      return null;
    } finally {
      this.running = false;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
