import { type DynamicModule, Module } from '@nestjs/common';
import { AccessLogModule } from '#libs/access-log';
import { ConfigModule } from '#libs/config';
import { CryptoModule } from '#libs/crypto';
import { DatabaseModule } from '#libs/database';
import { HttpPlatformModule } from '#libs/http';
import { OutboxModule } from '#libs/outbox';
import { QueuesModule } from '#libs/queues';
import { CheckpointPublisher } from './access-log/checkpoint-publisher.js';
import { WebhookWorker } from './webhooks/webhook-worker.js';

/**
 * Workers: webhook delivery from the outbox and the access log's signed
 * checkpoints (reminders and the metric relay come with their issues).
 * Serves health and metrics only.
 */
@Module({})
export class SchedulerAppModule {
  static forRoot(env?: Record<string, string | undefined>): DynamicModule {
    return {
      module: SchedulerAppModule,
      imports: [
        ConfigModule.forRoot(env),
        DatabaseModule.forApp(),
        CryptoModule,
        HttpPlatformModule.forRoot({ redis: 'required' }),
        OutboxModule,
        AccessLogModule,
        // Runs every job handler of the scheduler; refuses to boot while a job has none.
        QueuesModule.forWorkers(),
      ],
      providers: [WebhookWorker, CheckpointPublisher],
    };
  }
}
