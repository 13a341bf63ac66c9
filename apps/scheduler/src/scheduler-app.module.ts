import { type DynamicModule, Module } from '@nestjs/common';
import { AccessLogModule } from '#libs/access-log';
import { CatalogueModule } from '#libs/catalogue';
import { type AppModuleOptions, ConfigModule } from '#libs/config';
import { CryptoModule } from '#libs/crypto';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';
import { MetricsModule } from '#libs/metrics';
import { OutboxModule } from '#libs/outbox';
import { QueuesModule } from '#libs/queues';
import { ReminderDeliveryModule } from '#libs/reminders';
import { CheckpointPublisher } from './access-log/checkpoint-publisher.js';
import { OutboxRelayWorker } from './outbox/outbox-relay-worker.js';
import { ReleaseSummaryTask } from './metrics/release-summary-task.js';
import { SchedulerMetrics } from './metrics/scheduler-metrics.js';
import { ReminderWorker } from './reminders/reminder-worker.js';

/**
 * Workers: the reminder sweep and delivery, webhook delivery from the
 * outbox and the access log's signed checkpoints. Serves health and metrics
 * (queue depths and failures, outbox lag, reminder sends) only. The only
 * process that sends reminders: production refuses to boot it without
 * SMTP_URL.
 */
@Module({})
export class SchedulerAppModule {
  static forRoot(env?: Record<string, string | undefined>, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: SchedulerAppModule,
      imports: [
        ConfigModule.forRoot(env, { sendsReminders: true, clock: options.clock }),
        DatabaseModule.forApp(),
        CryptoModule,
        CatalogueModule,
        HttpPlatformModule.forRoot({ redis: 'required' }),
        OutboxModule,
        MetricsModule,
        AccessLogModule,
        ReminderDeliveryModule,
        // Runs every job handler of the scheduler; refuses to boot while a job has none.
        QueuesModule.forWorkers(),
      ],
      providers: [
        OutboxRelayWorker,
        CheckpointPublisher,
        ReminderWorker,
        SchedulerMetrics,
        ReleaseSummaryTask,
      ],
    };
  }
}
