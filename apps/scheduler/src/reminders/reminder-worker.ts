import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '#libs/config';
import { MetricsRegistry } from '#libs/http';
import { JOBS, OnJob, PeriodicTask, type SendReminderJob } from '#libs/queues';
import { type DeliveryOutcome, ReminderDeliveryService, ReminderSweeper } from '#libs/reminders';

/**
 * The reminders queue's handlers: the sweep (fired by BullMQ's job
 * scheduler) and the send of one reminder. The job scheduler is put in place
 * at boot and again every sweep period, so a Redis that lost it gets it back.
 */
@Injectable()
export class ReminderWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly scheduleTask: PeriodicTask;

  constructor(
    config: AppConfig,
    metrics: MetricsRegistry,
    private readonly sweeper: ReminderSweeper,
    private readonly delivery: ReminderDeliveryService,
  ) {
    metrics.registry.registerMetric(delivery.sends);
    this.scheduleTask = new PeriodicTask('reminder sweep schedule', config.reminders.sweepMs, () =>
      this.sweeper.schedule(),
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.scheduleTask.runOnce();
    this.scheduleTask.start();
  }

  @OnJob(JOBS.sweepReminders)
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  @OnJob(JOBS.sendReminder)
  send(job: SendReminderJob): Promise<DeliveryOutcome> {
    return this.delivery.deliver(job.reminderId);
  }

  async onModuleDestroy(): Promise<void> {
    await this.scheduleTask.stop();
  }
}
