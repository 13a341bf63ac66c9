import type { RegistrySnapshot, ServiceDefinition } from '#libs/catalogue';
import { DomainError } from '#libs/errors';
import type { ConsentMode } from './consent.entity.js';

export interface ConsentTerms {
  service: string;
  purpose: string;
  attributes: string[];
  mode: ConsentMode;
  expiresAt?: string | Date | null;
}

/**
 * A consent can only cover what the registry lets that service read for that
 * purpose: consenting cannot widen a service's rights (rule 1).
 */
export function checkTerms(
  registry: RegistrySnapshot,
  terms: ConsentTerms,
  now = new Date(),
): { service: ServiceDefinition; attributes: string[]; expiresAt: Date | null } {
  const service = registry.service(terms.service);
  if (!service) throw new DomainError('unknown_service', `No service "${terms.service}" in the registry.`);
  if (!registry.purpose(terms.purpose))
    throw new DomainError('unknown_purpose', `No purpose "${terms.purpose}" in the catalogue.`);
  const attributes = registry.knownAttributes(terms.attributes);
  const refused = attributes.filter((code) => !registry.canRead(service.id, code, terms.purpose));
  if (refused.length > 0) {
    throw new DomainError(
      'not_authorized',
      `The registry gives ${service.id} no right to ${refused.join(', ')} for ${terms.purpose}.`,
      refused.map((code) => ({
        field: 'attributes',
        message: `${code} is not authorized for this service and purpose`,
      })),
    );
  }
  const expiresAt = terms.expiresAt ? new Date(terms.expiresAt) : null;
  if (expiresAt && (Number.isNaN(expiresAt.getTime()) || expiresAt <= now)) {
    throw new DomainError('invalid_expiry', 'expiresAt must be a date in the future.', [
      { field: 'expiresAt', message: 'must be in the future' },
    ]);
  }
  return { service, attributes, expiresAt };
}
