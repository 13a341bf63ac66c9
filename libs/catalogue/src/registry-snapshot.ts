import { DomainError } from '#libs/errors';
import type {
  AttributeDefinition,
  CatalogueDocument,
  DeadlineKindDefinition,
  LegalBasis,
  Organisation,
  PurposeDefinition,
  RegistryDocument,
  ServiceDefinition,
} from './model.js';
import { catalogueWriteRefusal } from './write-rule.js';

/** One applied version of the registry and catalogue, indexed for the questions rule 1 asks. */
export class RegistrySnapshot {
  private readonly attributes = new Map<string, AttributeDefinition>();
  private readonly purposes = new Map<string, PurposeDefinition>();
  private readonly deadlineKinds = new Map<string, DeadlineKindDefinition>();
  private readonly organisations = new Map<string, Organisation>();
  private readonly services = new Map<string, ServiceDefinition>();
  private readonly readRights = new Set<string>();
  private readonly writeRights = new Set<string>();
  private readonly readAny = new Set<string>();
  private readonly legalBases = new Map<string, LegalBasis>();

  constructor(
    readonly version: number,
    readonly registry: RegistryDocument,
    readonly catalogue: CatalogueDocument,
  ) {
    for (const a of catalogue.attributes) this.attributes.set(a.code, a);
    for (const p of catalogue.purposes) this.purposes.set(p.code, p);
    for (const d of catalogue.deadlineKinds) this.deadlineKinds.set(d.code, d);
    for (const o of registry.organisations) this.organisations.set(o.id, o);
    for (const s of registry.services) {
      this.services.set(s.id, s);
      for (const right of s.rights) {
        if (right.access === 'write') this.writeRights.add(key(s.id, right.attribute));
        for (const purpose of right.purposes) this.readRights.add(key(s.id, right.attribute, purpose));
        if (right.access === 'read') this.readAny.add(key(s.id, right.attribute));
      }
    }
    for (const basis of registry.legal_bases) {
      for (const attribute of basis.attributes) {
        for (const purpose of basis.purposes)
          this.legalBases.set(key(basis.service, attribute, purpose), basis);
      }
    }
  }

  attribute(code: string): AttributeDefinition | undefined {
    return this.attributes.get(code);
  }

  /** The codes, deduplicated; an unknown one is a 400 naming each. */
  knownAttributes(codes: string[]): string[] {
    const unique = [...new Set(codes)];
    const unknown = unique.filter((code) => !this.attributes.has(code));
    if (unknown.length > 0) {
      throw new DomainError(
        'unknown_attribute',
        `Unknown attribute(s): ${unknown.join(', ')}.`,
        unknown.map((code) => ({ field: 'attributes', message: `unknown attribute "${code}"` })),
      );
    }
    return unique;
  }

  purpose(code: string): PurposeDefinition | undefined {
    return this.purposes.get(code);
  }

  deadlineKind(code: string): DeadlineKindDefinition | undefined {
    return this.deadlineKinds.get(code);
  }

  /** The deadline kind a write of this attribute creates or moves, if it is an expiring one. */
  expiringDeadlineKind(attribute: string): DeadlineKindDefinition | undefined {
    const kind = this.attributes.get(attribute)?.deadline;
    return kind === undefined ? undefined : this.deadlineKinds.get(kind);
  }

  organisation(id: string): Organisation | undefined {
    return this.organisations.get(id);
  }

  service(id: string): ServiceDefinition | undefined {
    return this.services.get(id);
  }

  /** The registry gives this service a read right on this attribute for this purpose. */
  canRead(serviceId: string, attribute: string, purpose: string): boolean {
    return this.readRights.has(key(serviceId, attribute, purpose));
  }

  /** The registry gives this service a read right on this attribute for some purpose. */
  canReadForSomePurpose(serviceId: string, attribute: string): boolean {
    return this.readAny.has(key(serviceId, attribute));
  }

  /**
   * Why this service may not write this attribute, or undefined if it may: a
   * write right in the registry is not enough, the catalogue must allow it
   * (catalogueWriteRefusal).
   */
  writeRefusal(serviceId: string, attribute: string): string | undefined {
    const service = this.services.get(serviceId);
    if (!service || !this.writeRights.has(key(serviceId, attribute)))
      return `${serviceId} has no write right on ${attribute}.`;
    const definition = this.attributes.get(attribute);
    if (!definition) return `${attribute} is not in the catalogue.`;
    return catalogueWriteRefusal(definition, service.organisation);
  }

  /** A declared legal basis lets this service receive this attribute for this purpose without consent. */
  legalBasis(serviceId: string, attribute: string, purpose: string): LegalBasis | undefined {
    return this.legalBases.get(key(serviceId, attribute, purpose));
  }
}

function key(...parts: string[]): string {
  return parts.join('\u001f');
}
