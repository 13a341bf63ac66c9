import type { AttributeDefinition } from './model.js';
import { catalogueWriteRefusal } from './write-rule.js';

const attribute = (code: string, fields: Partial<AttributeDefinition>): AttributeDefinition => ({
  code,
  label: { fr: code, en: code },
  type: 'string',
  sensitivity: 'normal',
  selfDeclarable: false,
  ...fields,
});

describe(catalogueWriteRefusal.name, () => {
  it.each([
    ['its official source', attribute('licence.driver_number', { authority: 'SAAQ' }), 'SAAQ', undefined],
    [
      'another organisation',
      attribute('health.card_expiry', { authority: 'RAMQ' }),
      'SAAQ',
      'The catalogue names RAMQ, not SAAQ, as the official source of health.card_expiry.',
    ],
    [
      'anyone, for what the citizen declares',
      attribute('contact.email', { selfDeclarable: true }),
      'SAAQ',
      'contact.email is declared by the citizen; no service writes it.',
    ],
    [
      'anyone, for an attribute with no official source',
      attribute('contact.phone', {}),
      'SAAQ',
      'contact.phone is declared by the citizen; no service writes it.',
    ],
  ])('answers a write by %s', (_who, definition, organisation, refusal) => {
    expect(catalogueWriteRefusal(definition, organisation)).toBe(refusal);
  });
});
