import { Logger } from '@nestjs/common';

/**
 * Runs some work every period: never two runs at once (the next run is
 * scheduled when one ends), an error is logged and the loop goes on, and
 * `stop` waits for a run in progress.
 */
export class PeriodicTask {
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;

  constructor(
    readonly name: string,
    private readonly periodMs: number,
    private readonly work: () => Promise<unknown>,
  ) {
    this.logger = new Logger(`PeriodicTask(${name})`);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** One run now, unless one is in progress (then it waits for that one). */
  async runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        await this.work();
      } catch (error) {
        this.logger.warn(`run failed: ${(error as Error).message}`);
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().then(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.periodMs);
  }
}
