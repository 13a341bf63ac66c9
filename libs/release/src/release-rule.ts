import type { AccessBasis, WithheldReason } from '#libs/access-log';
import type { RegistrySnapshot } from '#libs/catalogue';

export type Decision =
  | { attribute: string; allowed: true; basis: AccessBasis }
  | { attribute: string; allowed: false; reason: WithheldReason };

/**
 * Rule 1, before looking at any value: an attribute may be released only if
 * the registry gives the service a right to it for this purpose, and either a
 * declared legal basis or an active consent of the citizen covers it. A legal
 * basis is preferred, then an ongoing consent: neither uses up a one-time consent.
 * Whether a value is held is asked only of allowed attributes, so a refusal
 * never tells whether the citizen has the value.
 */
export function decide(
  registry: RegistrySnapshot,
  serviceId: string,
  purpose: string,
  attributes: string[],
  activeConsents: { id: string; attributes: string[]; mode: 'once' | 'ongoing' }[],
): Decision[] {
  return attributes.map((attribute): Decision => {
    if (!registry.canRead(serviceId, attribute, purpose))
      return { attribute, allowed: false, reason: 'not_authorized' };
    const legalBasis = registry.legalBasis(serviceId, attribute, purpose);
    if (legalBasis) {
      return {
        attribute,
        allowed: true,
        basis: {
          attribute,
          kind: 'legal_basis',
          legalBasisId: legalBasis.id,
          reference: legalBasis.reference,
        },
      };
    }
    const covering = activeConsents.filter((c) => c.attributes.includes(attribute));
    const consent = covering.find((c) => c.mode === 'ongoing') ?? covering[0];
    if (consent)
      return { attribute, allowed: true, basis: { attribute, kind: 'consent', consentId: consent.id } };
    return { attribute, allowed: false, reason: 'consent_required' };
  });
}

/**
 * Rule 1 for a service that names no purpose (a collection report): the
 * attributes among `attributes` it could receive right now for some purpose
 * of the catalogue, under a legal basis or one of these active consents.
 * It decides what a collection may tell the service, so it never says more
 * than a data request would.
 */
export function fetchableNow(
  registry: RegistrySnapshot,
  serviceId: string,
  attributes: string[],
  activeConsents: { purpose: string; attributes: string[] }[],
): Set<string> {
  return new Set(
    attributes.filter((attribute) =>
      registry.catalogue.purposes.some(({ code }) => {
        const consents = activeConsents
          .filter((c) => c.purpose === code)
          .map((c) => ({ id: '', attributes: c.attributes, mode: 'ongoing' as const }));
        return decide(registry, serviceId, code, [attribute], consents)[0].allowed;
      }),
    ),
  );
}
