import type { AttributeDefinition } from './model.js';

/**
 * Why the catalogue forbids a service of `organisation` to write this
 * attribute, or undefined if it may: only the attribute's official source
 * (its `authority`) writes it, and what the citizen declares no service
 * writes, whatever write right a registry grants. The one wording of the
 * rule, checked when a registry file is loaded and again at each write (a
 * version applied before the check may still be in force).
 */
export function catalogueWriteRefusal(
  definition: AttributeDefinition,
  organisation: string,
): string | undefined {
  if (definition.selfDeclarable || !definition.authority)
    return `${definition.code} is declared by the citizen; no service writes it.`;
  if (definition.authority !== organisation)
    return `The catalogue names ${definition.authority}, not ${organisation}, as the official source of ${definition.code}.`;
  return undefined;
}
