export {
  CollectionReports,
  type CollectionReportView,
  type NewCollectionReport,
} from './collection-reports.js';
export { MetricsModule } from './metrics.module.js';
