export {
  activeConsentSql,
  activeConsentsJsonSql,
  isActiveConsent,
  useUpConsentsSql,
} from './active-consent.js';
export { checkTerms, type ConsentTerms } from './consent-terms.js';
export { ConsentRequest, type ConsentRequestStatus, requestStatus } from './consent-request.entity.js';
export {
  approvalUrl,
  CONSENT_REQUEST_TTL_MS,
  ConsentRequestsService,
  type ConsentRequestView,
  type NewConsentRequest,
  type ServiceConsentRequestView,
} from './consent-requests.service.js';
export { Consent, type ConsentMode, type ConsentStatus, consentStatus } from './consent.entity.js';
export { ConsentModule } from './consent.module.js';
export { ConsentsService, type ConsentView, isUuid } from './consents.service.js';
export { ConsentTermsDto } from './dto/consent-terms.dto.js';
