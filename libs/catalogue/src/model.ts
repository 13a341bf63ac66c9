/** The catalogue and registry as the platform reads them, once validated. */

export interface Label {
  fr: string;
  en: string;
}

export const VALUE_TYPES = ['string', 'date', 'email', 'phone', 'postal-address'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** The purposes the LGGRI (RLRQ c. G-1.03, art. 12.10 ff.) allows data to move between public bodies for. */
export const LEGAL_CATEGORIES = {
  'service-simplification': {
    fr: 'Simplifier les services aux citoyens',
    en: 'Simplifying services to citizens',
  },
  'common-services': { fr: 'Fournir des services communs', en: 'Providing common services' },
  'legal-mandate': { fr: 'Exercer un mandat prévu par la loi', en: 'Carrying out a mandate provided by law' },
  'programme-management': { fr: 'Gérer des programmes', en: 'Managing programmes' },
  'decision-support': { fr: 'Soutenir la prise de décision', en: 'Supporting decision-making' },
  'eligibility-check': { fr: 'Vérifier l’admissibilité', en: 'Checking eligibility' },
  research: { fr: 'Recherche', en: 'Research' },
} as const satisfies Record<string, Label>;
export type LegalCategory = keyof typeof LEGAL_CATEGORIES;

export interface AttributeDefinition {
  code: string;
  label: Label;
  type: ValueType;
  pattern?: string;
  enum?: string[];
  maxLength?: number;
  sensitivity: 'normal' | 'sensitive';
  selfDeclarable: boolean;
  /** The organisation that is the official source of this attribute; absent for self-declared data. */
  authority?: string;
  /**
   * An expiring date attribute: the deadline kind its value creates (due at
   * 00:00 America/Montreal on that date, at the attribute's authority).
   */
  deadline?: string;
}

export interface PurposeDefinition {
  code: string;
  label: Label;
  legalCategory: LegalCategory;
}

/** The reminder policy of a deadline kind that names none: 30, 7 and 1 days before it falls due. */
export const DEFAULT_OFFSETS_DAYS: readonly number[] = [30, 7, 1];

export interface DeadlineKindDefinition {
  code: string;
  label: Label;
  offsetsDays: number[];
}

export interface CatalogueDocument {
  attributes: AttributeDefinition[];
  purposes: PurposeDefinition[];
  deadlineKinds: DeadlineKindDefinition[];
}

export interface Organisation {
  id: string;
  name: Label;
}

export interface AccessRight {
  attribute: string;
  access: 'read' | 'write';
  /** Purposes a read right is limited to; empty for a write right. */
  purposes: string[];
}

export interface ServiceDefinition {
  id: string;
  organisation: string;
  name?: Label;
  jwks?: { keys: Record<string, unknown>[] };
  jwks_uri?: string;
  webhook_url?: string;
  rights: AccessRight[];
  deadlines: string[];
}

export interface LegalBasis {
  id: string;
  reference: string;
  service: string;
  attributes: string[];
  purposes: string[];
}

export interface RegistryDocument {
  organisations: Organisation[];
  services: ServiceDefinition[];
  legal_bases: LegalBasis[];
}
