import { type CatalogueDocument, type RegistryDocument, RegistrySnapshot } from '#libs/catalogue';
import { decide, fetchableNow } from './release-rule.js';

const label = (code: string) => ({ fr: code, en: code });
const attribute = (code: string) => ({
  code,
  label: label(code),
  type: 'string' as const,
  sensitivity: 'normal' as const,
});
const catalogue = {
  attributes: ['address', 'email', 'birthdate'].map(attribute),
  purposes: ['renewal', 'credit'].map((code) => ({
    code,
    label: label(code),
    legalCategory: 'public-services',
  })),
  deadlineKinds: [],
} as unknown as CatalogueDocument;
const registry = new RegistrySnapshot(
  1,
  {
    organisations: [{ id: 'ORG', name: label('ORG') }],
    services: [
      {
        id: 'svc',
        organisation: 'ORG',
        rights: [
          { attribute: 'address', access: 'read', purposes: ['renewal', 'credit'] },
          { attribute: 'email', access: 'read', purposes: ['renewal'] },
          { attribute: 'birthdate', access: 'write', purposes: [] },
        ],
        deadlines: [],
      },
    ],
    legal_bases: [
      {
        id: 'law-1',
        reference: 'RLRQ, c. X, art. 1',
        service: 'svc',
        attributes: ['address'],
        purposes: ['credit'],
      },
    ],
  } as RegistryDocument,
  catalogue,
);

type Consent = { id: string; attributes: string[]; mode: 'once' | 'ongoing' };
const once = (id: string, ...attributes: string[]): Consent => ({ id, attributes, mode: 'once' });
const ongoing = (id: string, ...attributes: string[]): Consent => ({ id, attributes, mode: 'ongoing' });

describe(decide.name, () => {
  // service, purpose, attribute, the citizen's active consents (to that service for that purpose) → decision
  const cases: [string, string, string, string, Consent[], ReturnType<typeof decide>[number]][] = [
    [
      'no right for the attribute',
      'svc',
      'renewal',
      'birthdate',
      [ongoing('c1', 'birthdate')],
      { attribute: 'birthdate', allowed: false, reason: 'not_authorized' },
    ],
    [
      'a right, but for another purpose',
      'svc',
      'credit',
      'email',
      [ongoing('c1', 'email')],
      { attribute: 'email', allowed: false, reason: 'not_authorized' },
    ],
    [
      'another service',
      'other',
      'renewal',
      'address',
      [ongoing('c1', 'address')],
      { attribute: 'address', allowed: false, reason: 'not_authorized' },
    ],
    [
      'a right, no consent',
      'svc',
      'renewal',
      'email',
      [],
      { attribute: 'email', allowed: false, reason: 'consent_required' },
    ],
    [
      'a right, a consent for other attributes',
      'svc',
      'renewal',
      'email',
      [ongoing('c1', 'address')],
      { attribute: 'email', allowed: false, reason: 'consent_required' },
    ],
    [
      'a right and an ongoing consent',
      'svc',
      'renewal',
      'email',
      [ongoing('c1', 'email')],
      { attribute: 'email', allowed: true, basis: { attribute: 'email', kind: 'consent', consentId: 'c1' } },
    ],
    [
      'a right and a one-time consent',
      'svc',
      'renewal',
      'email',
      [once('c1', 'email')],
      { attribute: 'email', allowed: true, basis: { attribute: 'email', kind: 'consent', consentId: 'c1' } },
    ],
    [
      'an ongoing consent is preferred to an older one-time one',
      'svc',
      'renewal',
      'email',
      [once('c1', 'email'), ongoing('c2', 'email')],
      { attribute: 'email', allowed: true, basis: { attribute: 'email', kind: 'consent', consentId: 'c2' } },
    ],
    [
      'the oldest of two one-time consents',
      'svc',
      'renewal',
      'email',
      [once('c1', 'email'), once('c2', 'email')],
      { attribute: 'email', allowed: true, basis: { attribute: 'email', kind: 'consent', consentId: 'c1' } },
    ],
    [
      'a legal basis, no consent',
      'svc',
      'credit',
      'address',
      [],
      {
        attribute: 'address',
        allowed: true,
        basis: {
          attribute: 'address',
          kind: 'legal_basis',
          legalBasisId: 'law-1',
          reference: 'RLRQ, c. X, art. 1',
        },
      },
    ],
    [
      'a legal basis is preferred: a one-time consent is not used up',
      'svc',
      'credit',
      'address',
      [once('c1', 'address')],
      {
        attribute: 'address',
        allowed: true,
        basis: {
          attribute: 'address',
          kind: 'legal_basis',
          legalBasisId: 'law-1',
          reference: 'RLRQ, c. X, art. 1',
        },
      },
    ],
    [
      'a legal basis covers only its purposes',
      'svc',
      'renewal',
      'address',
      [],
      { attribute: 'address', allowed: false, reason: 'consent_required' },
    ],
    [
      'an attribute the catalogue does not know',
      'svc',
      'renewal',
      'fax',
      [ongoing('c1', 'fax')],
      { attribute: 'fax', allowed: false, reason: 'not_authorized' },
    ],
  ];

  it.each(cases)('%s', (_case, service, purpose, attribute, consents, expected) => {
    expect(decide(registry, service, purpose, [attribute], consents)).toEqual([expected]);
  });

  it('answers attribute by attribute, in the order asked', () => {
    expect(
      decide(registry, 'svc', 'renewal', ['email', 'birthdate', 'address'], [ongoing('c1', 'email')]).map(
        (d) => (d.allowed ? 'allowed' : d.reason),
      ),
    ).toEqual(['allowed', 'not_authorized', 'consent_required']);
  });
});

describe(fetchableNow.name, () => {
  const cases: [string, string[], { purpose: string; attributes: string[] }[], string[]][] = [
    ['nothing without a consent or legal basis, even with a right', ['email'], [], []],
    ['a legal basis for some purpose', ['address'], [], ['address']],
    [
      'a consent for a purpose the right names',
      ['email'],
      [{ purpose: 'renewal', attributes: ['email'] }],
      ['email'],
    ],
    [
      'a consent for a purpose the right does not name',
      ['email'],
      [{ purpose: 'credit', attributes: ['email'] }],
      [],
    ],
    [
      'no right, whatever the consent',
      ['birthdate'],
      [{ purpose: 'renewal', attributes: ['birthdate'] }],
      [],
    ],
  ];

  it.each(cases)('%s', (_case, attributes, consents, expected) => {
    expect([...fetchableNow(registry, 'svc', attributes, consents)]).toEqual(expected);
  });
});
