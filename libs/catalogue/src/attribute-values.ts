import type { FieldError } from '#libs/errors';
import type { AttributeDefinition } from './model.js';

export type JsonValue = string | { [key: string]: string };

export type ValueCheck = { ok: true; value: JsonValue } | { ok: false; errors: FieldError[] };

const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const E164 = /^\+[1-9]\d{7,14}$/;
const POSTAL_CODE = /^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]) ?(\d[ABCEGHJ-NPRSTV-Z]\d)$/;
export const PROVINCES = ['AB', 'BC', 'MB', 'NB', 'NL', 'NS', 'NT', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT'];
const DEFAULT_MAX_LENGTH = 200;

/** Checks a value against its catalogue type and returns it normalised (trimmed, canonical case and spacing). */
export function checkAttributeValue(
  definition: AttributeDefinition,
  value: unknown,
  field = 'value',
): ValueCheck {
  const fail = (message: string, at = field): ValueCheck => ({ ok: false, errors: [{ field: at, message }] });
  switch (definition.type) {
    case 'postal-address':
      return checkAddress(value, field);
    case 'date': {
      if (typeof value !== 'string' || !isIsoDate(value)) return fail('must be a date YYYY-MM-DD');
      return { ok: true, value };
    }
    case 'email': {
      const email = typeof value === 'string' ? value.trim() : '';
      if (email.length > 254 || !EMAIL.test(email)) return fail('must be an e-mail address');
      const at = email.lastIndexOf('@');
      return { ok: true, value: email.slice(0, at) + email.slice(at).toLowerCase() };
    }
    case 'phone': {
      const phone = typeof value === 'string' ? value.replace(/[\s().-]/g, '') : '';
      if (!E164.test(phone)) return fail('must be a phone number in E.164 form, e.g. +15145551234');
      return { ok: true, value: phone };
    }
    case 'string': {
      if (typeof value !== 'string' || value.trim() === '') return fail('must be a non-empty string');
      const text = value.trim();
      if (text.length > (definition.maxLength ?? DEFAULT_MAX_LENGTH)) {
        return fail(`must be at most ${definition.maxLength ?? DEFAULT_MAX_LENGTH} characters`);
      }
      if (definition.enum && !definition.enum.includes(text))
        return fail(`must be one of ${definition.enum.join(', ')}`);
      if (definition.pattern && !new RegExp(`^(?:${definition.pattern})$`).test(text)) {
        return fail('does not have the expected format');
      }
      return { ok: true, value: text };
    }
  }
}

function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

function checkAddress(value: unknown, field: string): ValueCheck {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      errors: [{ field, message: 'must be an address {line1, line2?, city, province, postalCode}' }],
    };
  }
  const input = value as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(input)) {
    if (!['line1', 'line2', 'city', 'province', 'postalCode'].includes(key)) {
      errors.push({ field: `${field}.${key}`, message: 'is not an address field' });
    }
  }
  const text = (key: string, required: boolean): string | undefined => {
    const raw = input[key];
    const trimmed = typeof raw === 'string' ? raw.trim() : raw;
    // An optional line left empty by a form is simply absent.
    if (!required && (trimmed === undefined || trimmed === null || trimmed === '')) return undefined;
    if (typeof trimmed !== 'string' || trimmed === '' || trimmed.length > 100) {
      errors.push({
        field: `${field}.${key}`,
        message: 'must be a non-empty string of at most 100 characters',
      });
      return undefined;
    }
    return trimmed;
  };
  const line1 = text('line1', true);
  const line2 = text('line2', false);
  const city = text('city', true);
  const province = text('province', true)?.toUpperCase();
  if (province && !PROVINCES.includes(province)) {
    errors.push({ field: `${field}.province`, message: `must be one of ${PROVINCES.join(', ')}` });
  }
  const postal = text('postalCode', true)?.toUpperCase();
  const match = postal ? POSTAL_CODE.exec(postal) : null;
  if (postal && !match)
    errors.push({ field: `${field}.postalCode`, message: 'must be a Canadian postal code, e.g. H2X 1Y4' });
  if (errors.length > 0 || !line1 || !city || !province || !match) return { ok: false, errors };
  return {
    ok: true,
    value: { line1, ...(line2 ? { line2 } : {}), city, province, postalCode: `${match[1]} ${match[2]}` },
  };
}
