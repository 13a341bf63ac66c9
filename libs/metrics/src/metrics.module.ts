import { Module } from '@nestjs/common';
import { OutboxModule } from '#libs/outbox';
import { CollectionReports } from './collection-reports.js';

@Module({
  imports: [OutboxModule],
  providers: [CollectionReports],
  exports: [CollectionReports],
})
export class MetricsModule {}
