import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxEvent } from './outbox-event.entity.js';
import { OutboxRelayService } from './outbox-relay.service.js';
import { OutboxService } from './outbox.service.js';
import { WebhookDeliveryService } from './webhook-delivery.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([OutboxEvent])],
  providers: [OutboxService, OutboxRelayService, WebhookDeliveryService],
  exports: [OutboxService, OutboxRelayService, WebhookDeliveryService],
})
export class OutboxModule {}
