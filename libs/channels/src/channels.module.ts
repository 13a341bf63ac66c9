import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { type ReminderChannel, REMINDER_CHANNELS } from './channel.js';
import { EmailChannel } from './email.channel.js';
import { Notification } from './notification.entity.js';
import { NotificationsService } from './notifications.service.js';
import { PortalChannel } from './portal.channel.js';
import { SmsChannel } from './sms.channel.js';

/** The channel adapters, each on its own; REMINDER_CHANNELS lists them all for the sender. */
@Module({
  imports: [TypeOrmModule.forFeature([Notification])],
  providers: [
    NotificationsService,
    EmailChannel,
    SmsChannel,
    PortalChannel,
    {
      provide: REMINDER_CHANNELS,
      useFactory: (...channels: ReminderChannel[]) => channels,
      inject: [EmailChannel, SmsChannel, PortalChannel],
    },
  ],
  exports: [TypeOrmModule, NotificationsService, REMINDER_CHANNELS],
})
export class ChannelsModule {}
