import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { VaultModule } from '#libs/vault';
import { Deadline } from './deadline.entity.js';
import { CalendarFeedsService } from './calendar-feeds.service.js';
import { DeadlinesService } from './deadlines.service.js';
import { Reminder, ReminderDelivery } from './reminder.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([Deadline, Reminder, ReminderDelivery]), VaultModule],
  providers: [DeadlinesService, CalendarFeedsService],
  exports: [TypeOrmModule, DeadlinesService, CalendarFeedsService],
})
export class RemindersModule {}
