import { assertUnreachable, type ErrorCode } from '#libs/errors';

/** The one place an error code becomes an HTTP status. */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'validation_failed':
    case 'malformed_json':
    case 'unknown_service':
    case 'unknown_purpose':
    case 'invalid_attribute_value':
    case 'invalid_expiry':
    case 'unknown_attribute':
    case 'invalid_request':
    case 'unsupported_grant_type':
    case 'unknown_deadline_kind':
    case 'invalid_due_date':
    case 'unknown_metric_event_type':
    case 'invalid_metric_event':
      return 400;
    case 'unauthenticated':
    case 'invalid_client':
    case 'metric_events_unsigned':
    case 'metric_events_bad_signature':
      return 401;
    case 'forbidden':
    case 'attribute_not_self_declarable':
      return 403;
    case 'route_not_found':
    case 'consent_not_found':
    case 'consent_request_not_found':
    case 'citizen_not_found':
    case 'not_checkpointed':
    case 'deadline_not_found':
    case 'notification_not_found':
    case 'calendar_feed_not_found':
      return 404;
    case 'consent_request_not_pending':
    case 'deadline_closed':
    case 'deadline_ref_conflict':
      return 409;
    case 'payload_too_large':
    case 'metric_events_too_many':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'not_authorized':
      return 422;
    case 'service_unavailable':
      return 503;
    case 'internal_error':
      return 500;
    default:
      return assertUnreachable(code);
  }
}

/** For exceptions raised by the framework itself (unknown route, guards). */
export function codeOfStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'validation_failed';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
    case 405:
      return 'route_not_found';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 503:
      return 'service_unavailable';
    default:
      return 'internal_error';
  }
}
