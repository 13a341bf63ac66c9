import { Module } from '@nestjs/common';
import { ChannelsModule } from '#libs/channels';
import { ConsentModule } from '#libs/consent';
import { RemindersModule } from '#libs/reminders';
import { VaultModule } from '#libs/vault';
import { ErasureService } from './erasure.service.js';

@Module({
  imports: [VaultModule, ConsentModule, RemindersModule, ChannelsModule],
  providers: [ErasureService],
  exports: [ErasureService],
})
export class ErasureModule {}
