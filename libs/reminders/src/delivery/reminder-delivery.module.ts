import { Module } from '@nestjs/common';
import { ChannelsModule } from '#libs/channels';
import { VaultModule } from '#libs/vault';
import { ReminderDeliveryService } from './reminder-delivery.service.js';
import { ReminderSweeper } from './reminder-sweeper.service.js';

/**
 * How reminders leave: the sweep from rows to the queue, and the delivery
 * through the channels. Needs the app's QueuesModule (global) and
 * CatalogueModule.
 */
@Module({
  imports: [ChannelsModule, VaultModule],
  providers: [ReminderSweeper, ReminderDeliveryService],
  exports: [ReminderSweeper, ReminderDeliveryService],
})
export class ReminderDeliveryModule {}
