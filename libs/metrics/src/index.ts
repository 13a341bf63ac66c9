export {
  CollectionReports,
  type CollectionReportView,
  type NewCollectionReport,
} from './collection-reports.js';
export { MetricDeliveryService, type MetricDeliveryOutcome } from './metric-delivery.service.js';
export { ReleaseSummaries } from './release-summaries.js';
export { MetricsModule } from './metrics.module.js';
export {
  MAX_METRIC_EVENTS_PER_BATCH,
  METRIC_EVENT_SCHEMAS,
  METRIC_EVENT_SOURCE,
  type MetricCloudEvent,
  metricCloudEvent,
  METRIC_EVENTS_SIGNATURE_HEADER,
  METRIC_EVENTS_TYP,
  MetricEventsRejected,
  type MetricEventsRejection,
  signMetricEvents,
  verifyMetricEvents,
} from './metric-events.js';
