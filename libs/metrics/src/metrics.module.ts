import { Module } from '@nestjs/common';
import { OutboxModule } from '#libs/outbox';
import { CollectionReports } from './collection-reports.js';
import { MetricDeliveryService } from './metric-delivery.service.js';
import { ReleaseSummaries } from './release-summaries.js';

@Module({
  imports: [OutboxModule],
  providers: [CollectionReports, MetricDeliveryService, ReleaseSummaries],
  exports: [CollectionReports, MetricDeliveryService, ReleaseSummaries],
})
export class MetricsModule {}
