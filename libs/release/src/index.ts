export {
  DATA_RESPONSE_TYP,
  type DataResponse,
  DEFAULT_MAX_AGE_SECONDS,
  DataResponseRejected,
  type ExpectedDataResponse,
  verifyDataResponse,
} from './data-response.js';
export { type Decision, decide, fetchableNow } from './release-rule.js';
export { ReleaseModule } from './release.module.js';
export { type DataRequestInput, ReleaseService } from './release.service.js';
export { ReleaseConflict, ReleaseStore } from './release.store.js';
