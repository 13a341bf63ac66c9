/**
 * Every error the platform can answer with. The code is the stable part of
 * the problem `type` (urn:une-fois:problem:<code>); the titles are shown to
 * citizens, French first.
 */
export const ERROR_TITLES = {
  validation_failed: {
    fr: 'La requête contient des données invalides.',
    en: 'The request contains invalid data.',
  },
  malformed_json: {
    fr: 'Le corps de la requête n’est pas un JSON valide.',
    en: 'The request body is not valid JSON.',
  },
  payload_too_large: {
    fr: 'Le corps de la requête est trop volumineux.',
    en: 'The request body is too large.',
  },
  unsupported_media_type: { fr: 'Type de contenu non pris en charge.', en: 'Unsupported content type.' },
  unauthenticated: {
    fr: 'Authentification requise ou jeton invalide.',
    en: 'Authentication required or invalid token.',
  },
  forbidden: { fr: 'Action non permise.', en: 'Action not allowed.' },
  route_not_found: { fr: 'Cette adresse n’existe pas.', en: 'No such address.' },
  unknown_attribute: { fr: 'Attribut inconnu.', en: 'Unknown attribute.' },
  unknown_service: { fr: 'Service inconnu.', en: 'Unknown service.' },
  unknown_purpose: { fr: 'Finalité inconnue.', en: 'Unknown purpose.' },
  attribute_not_self_declarable: {
    fr: 'Cette donnée provient d’une source officielle et ne peut pas être modifiée ici.',
    en: 'This information comes from an official source and cannot be changed here.',
  },
  invalid_attribute_value: {
    fr: 'La valeur fournie n’est pas valide.',
    en: 'The value provided is not valid.',
  },
  not_authorized: {
    fr: 'Ce service n’est pas autorisé à utiliser ces données pour cette finalité.',
    en: 'This service is not authorized to use this information for this purpose.',
  },
  consent_not_found: { fr: 'Consentement introuvable.', en: 'Consent not found.' },
  consent_request_not_found: { fr: 'Demande de consentement introuvable.', en: 'Consent request not found.' },
  consent_request_not_pending: {
    fr: 'Cette demande de consentement a déjà été traitée ou a expiré.',
    en: 'This consent request was already handled or has expired.',
  },
  invalid_expiry: {
    fr: 'La date d’expiration doit être dans le futur.',
    en: 'The expiry date must be in the future.',
  },
  invalid_client: {
    fr: 'Authentification du service refusée.',
    en: 'Service authentication failed.',
  },
  invalid_request: { fr: 'Requête d’authentification invalide.', en: 'Invalid authentication request.' },
  unsupported_grant_type: { fr: 'Type d’autorisation non pris en charge.', en: 'Unsupported grant type.' },
  citizen_not_found: {
    fr: 'Aucun citoyen ne correspond à cet identifiant pour votre organisation.',
    en: 'No citizen matches this identifier for your organisation.',
  },
  not_checkpointed: {
    fr: 'Votre journal des accès n’est pas encore couvert par un point de contrôle signé.',
    en: 'Your access log is not yet covered by a signed checkpoint.',
  },
  unknown_deadline_kind: { fr: 'Type d’échéance inconnu.', en: 'Unknown deadline kind.' },
  invalid_due_date: {
    fr: 'La date d’échéance doit être dans le futur.',
    en: 'The due date must be in the future.',
  },
  deadline_not_found: { fr: 'Échéance introuvable.', en: 'Deadline not found.' },
  deadline_closed: {
    fr: 'Cette échéance est déjà terminée ou annulée.',
    en: 'This deadline is already completed or cancelled.',
  },
  deadline_ref_conflict: {
    fr: 'Cette référence désigne déjà une autre échéance.',
    en: 'This reference already names another deadline.',
  },
  notification_not_found: { fr: 'Avis introuvable.', en: 'Notification not found.' },
  calendar_feed_not_found: { fr: 'Calendrier introuvable.', en: 'Calendar feed not found.' },
  metric_events_unsigned: {
    fr: 'Les événements doivent être signés par la plateforme émettrice.',
    en: 'The events must be signed by the emitting platform.',
  },
  metric_events_bad_signature: {
    fr: 'La signature des événements n’est pas valide.',
    en: 'The events’ signature is not valid.',
  },
  metric_events_too_many: {
    fr: 'Le lot contient trop d’événements.',
    en: 'The batch holds too many events.',
  },
  unknown_metric_event_type: { fr: 'Type d’événement inconnu.', en: 'Unknown event type.' },
  invalid_metric_event: {
    fr: 'Un événement ne respecte pas le format attendu.',
    en: 'An event does not follow the expected format.',
  },
  service_unavailable: { fr: 'Service temporairement indisponible.', en: 'Service temporarily unavailable.' },
  internal_error: {
    fr: 'Erreur interne. Réessayez plus tard.',
    en: 'Internal error. Please try again later.',
  },
} as const satisfies Record<string, { fr: string; en: string }>;

export type ErrorCode = keyof typeof ERROR_TITLES;

export interface FieldError {
  field: string;
  message: string;
}

/** A domain error: a stable code, a technical detail (English), and field errors for validation. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail ?? code);
    this.name = 'DomainError';
  }
}

export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}

/**
 * What of an unexpected error may go to the log: its kind, message, code and
 * stack, never the query parameters or driver details a database error
 * carries (they can hold identifiers of citizens).
 */
export function loggableError(error: unknown): {
  type: string;
  message: string;
  code?: string;
  stack?: string;
} {
  // Error-like objects count too: an Error of another realm (a VM context) fails instanceof.
  const errorLike =
    error instanceof Error ||
    (typeof error === 'object' &&
      error !== null &&
      typeof (error as { message?: unknown }).message === 'string' &&
      typeof (error as { name?: unknown }).name === 'string');
  if (!errorLike) return { type: typeof error, message: 'non-error thrown' };
  const { name, message, stack } = error as Error;
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } }).driverError?.code ??
    (error as { code?: unknown }).code;
  return {
    type: name,
    message: message.slice(0, 500),
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof stack === 'string' ? { stack: stack.split('\n').slice(1, 8).join('\n') } : {}),
  };
}
