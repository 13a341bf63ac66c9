import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Deadline } from './deadline.entity.js';
import { Reminder, ReminderDelivery } from './reminder.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([Deadline, Reminder, ReminderDelivery])],
  exports: [TypeOrmModule],
})
export class RemindersModule {}
