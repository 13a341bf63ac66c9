import { readFileSync } from 'node:fs';
import { checkAttributeValue, PROVINCES, type ValueCheck } from './attribute-values.js';
import type { AttributeDefinition } from './model.js';
import { parseCatalogue } from './registry-files.js';

const CATALOGUE_FILE = 'config/catalogue.yaml';
const catalogue = parseCatalogue(CATALOGUE_FILE, readFileSync(CATALOGUE_FILE, 'utf8'));

/** An attribute definition of the real catalogue. */
function attribute(code: string): AttributeDefinition {
  const found = catalogue.attributes.find((a) => a.code === code);
  if (!found) throw new Error(`${code} is not in ${CATALOGUE_FILE}`);
  return found;
}

/** A definition that is not in the catalogue, for the string options the catalogue does not combine. */
function stringAttribute(options: Partial<AttributeDefinition> = {}): AttributeDefinition {
  return {
    code: 'test.text',
    label: { fr: 'Texte', en: 'Text' },
    type: 'string',
    sensitivity: 'normal',
    selfDeclarable: true,
    ...options,
  };
}

function address(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    line1: '1000 rue Sherbrooke Ouest',
    city: 'Montréal',
    province: 'QC',
    postalCode: 'H3A 3G4',
    ...overrides,
  };
}

function fields(check: ValueCheck): string[] {
  return check.ok ? [] : check.errors.map((e) => e.field);
}

describe(checkAttributeValue.name, () => {
  describe('email', () => {
    const email = attribute('contact.email');

    it('accepts an address and lower-cases only the domain', () => {
      expect(checkAttributeValue(email, 'Marie.Tremblay@Example.QC.CA')).toEqual({
        ok: true,
        value: 'Marie.Tremblay@example.qc.ca',
      });
    });

    it('trims surrounding whitespace', () => {
      expect(checkAttributeValue(email, '  marie@example.com \n')).toEqual({
        ok: true,
        value: 'marie@example.com',
      });
    });

    it.each([
      ['no @', 'marie.example.com'],
      ['nothing before @', '@example.com'],
      ['no dot in the domain', 'marie@localhost'],
      ['a space inside', 'marie tremblay@example.com'],
      ['two @', 'marie@tremblay@example.com'],
      ['empty', ''],
    ])('rejects an address with %s', (_case, value) => {
      expect(checkAttributeValue(email, value)).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'must be an e-mail address' }],
      });
    });

    it('accepts 254 characters and rejects 255', () => {
      const domain = '@example.com';
      const at254 = `${'a'.repeat(60)}.${'b'.repeat(254 - 61 - domain.length)}${domain}`;
      expect(at254).toHaveLength(254);
      expect(checkAttributeValue(email, at254).ok).toBe(true);
      expect(checkAttributeValue(email, `a${at254}`).ok).toBe(false);
    });

    it.each([[42], [null], [undefined], [{ email: 'marie@example.com' }]])(
      'rejects the non-string %p',
      (value) => {
        expect(checkAttributeValue(email, value).ok).toBe(false);
      },
    );

    it('names the field it was given', () => {
      expect(fields(checkAttributeValue(email, 'nope', 'values.contact.email'))).toEqual([
        'values.contact.email',
      ]);
    });
  });

  describe('phone', () => {
    const phone = attribute('contact.phone');

    it.each([
      ['+1 (514) 555-0199', '+15145550199'],
      ['+1 514.555.0199', '+15145550199'],
      ['+15145550199', '+15145550199'],
      ['+33 1 23 45 67 89', '+33123456789'],
    ])('normalises %p to E.164 %p', (input, expected) => {
      expect(checkAttributeValue(phone, input)).toEqual({ ok: true, value: expected });
    });

    it.each([
      ['without the leading +', '1 514 555 0199'],
      ['too short', '+1514555'],
      ['too long (16 digits)', '+1234567890123456'],
      ['starting with +0', '+0145550199'],
      ['with letters', '+1 514 555 CALL'],
      ['with an extension', '+15145550199 x12'],
    ])('rejects a number %s', (_case, value) => {
      expect(checkAttributeValue(phone, value)).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'must be a phone number in E.164 form, e.g. +15145551234' }],
      });
    });

    it('rejects a number given as a JSON number rather than a string', () => {
      expect(checkAttributeValue(phone, 15145550199).ok).toBe(false);
    });
  });

  describe('date', () => {
    const birthdate = attribute('identity.birthdate');

    it.each(['1985-07-14', '2024-02-29', '2026-12-31'])('accepts the calendar date %p unchanged', (value) => {
      expect(checkAttributeValue(birthdate, value)).toEqual({ ok: true, value });
    });

    it.each([
      ['a day February does not have', '2026-02-30'],
      ['29 February of a common year', '2025-02-29'],
      ['month 13', '2026-13-01'],
      ['day 00', '2026-01-00'],
      ['a non-padded month and day', '2026-2-3'],
      ['day-month-year order', '14-07-1985'],
      ['a time part', '1985-07-14T00:00:00Z'],
      ['surrounding spaces', ' 1985-07-14'],
    ])('rejects %s (%p)', (_case, value) => {
      expect(checkAttributeValue(birthdate, value)).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'must be a date YYYY-MM-DD' }],
      });
    });

    it.each([[new Date('1985-07-14T00:00:00Z')], [19850714], [null], [['1985-07-14']]])(
      'rejects the non-string %p',
      (value) => {
        expect(checkAttributeValue(birthdate, value).ok).toBe(false);
      },
    );
  });

  describe('string', () => {
    it('trims the value', () => {
      expect(checkAttributeValue(attribute('identity.given_name'), '  Marie-Ève ')).toEqual({
        ok: true,
        value: 'Marie-Ève',
      });
    });

    it.each([[''], ['   '], [7], [null]])('rejects the empty or non-string value %p', (value) => {
      expect(checkAttributeValue(attribute('identity.given_name'), value)).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'must be a non-empty string' }],
      });
    });

    it('enforces the maxLength of the catalogue (100 for a given name)', () => {
      const givenName = attribute('identity.given_name');
      expect(checkAttributeValue(givenName, 'a'.repeat(100)).ok).toBe(true);
      expect(checkAttributeValue(givenName, 'a'.repeat(101))).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'must be at most 100 characters' }],
      });
    });

    it('applies a default maxLength of 200 when the catalogue gives none', () => {
      expect(checkAttributeValue(stringAttribute(), 'x'.repeat(200)).ok).toBe(true);
      expect(checkAttributeValue(stringAttribute(), 'x'.repeat(201)).ok).toBe(false);
    });

    it('accepts only the values of an enum', () => {
      const marital = attribute('civil.marital_status');
      expect(checkAttributeValue(marital, 'civil-union')).toEqual({ ok: true, value: 'civil-union' });
      expect(checkAttributeValue(marital, 'complicated')).toEqual({
        ok: false,
        errors: [
          {
            field: 'value',
            message: 'must be one of single, married, civil-union, divorced, separated, widowed',
          },
        ],
      });
      expect(checkAttributeValue(marital, 'Married').ok).toBe(false);
    });

    it('matches the pattern against the whole value', () => {
      const nam = attribute('health.insurance_number');
      expect(checkAttributeValue(nam, 'TREM85071412')).toEqual({ ok: true, value: 'TREM85071412' });
      expect(checkAttributeValue(nam, 'TREM850714123').ok).toBe(false);
      expect(checkAttributeValue(nam, 'XTREM85071412').ok).toBe(false);
      expect(checkAttributeValue(nam, 'trem85071412')).toEqual({
        ok: false,
        errors: [{ field: 'value', message: 'does not have the expected format' }],
      });
    });

    it('anchors every branch of a pattern with alternatives', () => {
      const code = stringAttribute({ pattern: 'ab|cd' });
      expect(checkAttributeValue(code, 'cd').ok).toBe(true);
      expect(checkAttributeValue(code, 'abX').ok).toBe(false);
      expect(checkAttributeValue(code, 'Xcd').ok).toBe(false);
    });

    it('checks the driver licence and direct deposit patterns of the catalogue', () => {
      expect(checkAttributeValue(attribute('licence.driver_number'), 'T1234-140785-01').ok).toBe(true);
      expect(checkAttributeValue(attribute('licence.driver_number'), 'T1234140785-01').ok).toBe(false);
      expect(checkAttributeValue(attribute('banking.direct_deposit'), '815-30001-1234567').ok).toBe(true);
      expect(checkAttributeValue(attribute('banking.direct_deposit'), '815-30001-123456').ok).toBe(false);
    });
  });

  describe('postal-address', () => {
    const residential = attribute('address.residential');

    it('normalises the postal code and province and trims every line', () => {
      expect(
        checkAttributeValue(
          residential,
          address({
            line1: ' 1000 rue Sherbrooke Ouest ',
            city: ' Montréal',
            province: 'qc',
            postalCode: 'h2x1y4',
          }),
        ),
      ).toEqual({
        ok: true,
        value: {
          line1: '1000 rue Sherbrooke Ouest',
          city: 'Montréal',
          province: 'QC',
          postalCode: 'H2X 1Y4',
        },
      });
    });

    it('keeps line2 when given and leaves it out when absent', () => {
      const withLine2 = checkAttributeValue(residential, address({ line2: 'App. 4' }));
      expect(withLine2.ok && withLine2.value).toMatchObject({ line2: 'App. 4' });
      const without = checkAttributeValue(residential, address());
      expect(without.ok && Object.keys(without.value)).toEqual(['line1', 'city', 'province', 'postalCode']);
    });

    it.each([[''], ['   '], [null]])('treats an empty line2 (%j) as absent', (line2) => {
      const checked = checkAttributeValue(residential, address({ line2 }));
      expect(checked.ok && Object.keys(checked.value)).toEqual(['line1', 'city', 'province', 'postalCode']);
    });

    it('measures a line after trimming it', () => {
      const checked = checkAttributeValue(residential, address({ line1: ` ${'x'.repeat(100)} ` }));
      expect(checked.ok && checked.value).toMatchObject({ line1: 'x'.repeat(100) });
    });

    it.each(PROVINCES)('accepts the province or territory %s', (province) => {
      expect(checkAttributeValue(residential, address({ province })).ok).toBe(true);
    });

    it.each([
      ['an unknown province', { province: 'ZZ' }, 'value.province'],
      ['a province name instead of its code', { province: 'Québec' }, 'value.province'],
      ['a US ZIP code', { postalCode: '90210' }, 'value.postalCode'],
      ['a postal code with a letter Canada Post does not use', { postalCode: 'D2X 1Y4' }, 'value.postalCode'],
      ['a postal code with a dash', { postalCode: 'H2X-1Y4' }, 'value.postalCode'],
      ['no line1', { line1: undefined }, 'value.line1'],
      ['an empty line1', { line1: '  ' }, 'value.line1'],
      ['no city', { city: undefined }, 'value.city'],
      ['a line of more than 100 characters', { line1: 'x'.repeat(101) }, 'value.line1'],
      ['a non-string line2', { line2: 4 }, 'value.line2'],
      ['an unknown key', { country: 'CA' }, 'value.country'],
    ])('rejects %s', (_case, overrides, field) => {
      expect(fields(checkAttributeValue(residential, address(overrides)))).toEqual([field]);
    });

    it('reports every problem of one address at once', () => {
      const check = checkAttributeValue(
        residential,
        { line1: '', city: 'Montréal', province: 'NY', postalCode: '10001', unit: '4' },
        'address',
      );
      expect(fields(check).sort()).toEqual([
        'address.line1',
        'address.postalCode',
        'address.province',
        'address.unit',
      ]);
    });

    it.each([['1000 rue Sherbrooke, Montréal'], [null], [[address()]]])(
      'rejects the non-mapping %p',
      (value) => {
        expect(fields(checkAttributeValue(residential, value))).toEqual(['value']);
      },
    );
  });
});
