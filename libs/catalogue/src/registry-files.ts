import { readFileSync } from 'node:fs';
import {
  type AccessRight,
  type AttributeDefinition,
  type CatalogueDocument,
  DEFAULT_OFFSETS_DAYS,
  LEGAL_CATEGORIES,
  type LegalCategory,
  type RegistryDocument,
  VALUE_TYPES,
} from './model.js';
import { PRIVATE_JWK_MEMBERS } from './registry-keys.js';
import { catalogueWriteRefusal } from './write-rule.js';
import { RegistryFileError, YamlChecker } from './yaml-checker.js';

const CODE = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ALLOWED_KEY_TYPES = ['EC', 'RSA', 'OKP'];

export function parseCatalogue(file: string, text: string): CatalogueDocument {
  const check = new YamlChecker(file, text);
  const doc = check.problems.length === 0 ? parseCatalogueData(check) : null;
  if (check.problems.length > 0 || !doc) throw new RegistryFileError(check.problems);
  return doc;
}

function parseCatalogueData(check: YamlChecker): CatalogueDocument {
  const root = check.object(check.data, []);
  check.onlyKeys(root, [], ['attributes', 'purposes', 'deadlineKinds']);
  const attributes = check.list(root.attributes, ['attributes']).map((raw, i): AttributeDefinition => {
    const path = ['attributes', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, [
      'code',
      'label',
      'type',
      'pattern',
      'enum',
      'maxLength',
      'sensitivity',
      'selfDeclarable',
      'authority',
      'deadline',
    ]);
    const selfDeclarable = item.selfDeclarable === undefined ? false : item.selfDeclarable;
    if (typeof selfDeclarable !== 'boolean') check.fail([...path, 'selfDeclarable'], 'must be true or false');
    const authority = check.optionalString(item.authority, [...path, 'authority'], ID);
    if (!selfDeclarable && !authority) {
      check.fail(
        path,
        'an attribute that is not self-declarable needs an authority (the organisation that is its official source)',
      );
    }
    const deadline = check.optionalString(item.deadline, [...path, 'deadline'], CODE);
    if (deadline && item.type !== 'date')
      check.fail([...path, 'deadline'], 'only a date attribute can create a deadline');
    else if (deadline && !authority)
      check.fail(
        [...path, 'deadline'],
        'an attribute that creates a deadline needs an authority (the organisation the deadline is at)',
      );
    const pattern = check.optionalString(item.pattern, [...path, 'pattern']);
    if (pattern) {
      try {
        new RegExp(pattern);
      } catch {
        check.fail([...path, 'pattern'], 'is not a valid regular expression');
      }
    }
    const maxLength = item.maxLength;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || (maxLength as number) < 1)) {
      check.fail([...path, 'maxLength'], 'must be a positive whole number');
    }
    return {
      code: check.string(item.code, [...path, 'code'], CODE),
      label: check.label(item.label, [...path, 'label']),
      type: check.oneOf(item.type, [...path, 'type'], VALUE_TYPES),
      ...(pattern ? { pattern } : {}),
      ...(item.enum !== undefined
        ? {
            enum: check
              .list(item.enum, [...path, 'enum'])
              .map((v, j) => check.string(v, [...path, 'enum', j])),
          }
        : {}),
      ...(maxLength !== undefined ? { maxLength: maxLength as number } : {}),
      sensitivity: check.oneOf(item.sensitivity ?? 'normal', [...path, 'sensitivity'], [
        'normal',
        'sensitive',
      ] as const),
      selfDeclarable: selfDeclarable === true,
      ...(authority ? { authority } : {}),
      ...(deadline ? { deadline } : {}),
    };
  });
  check.unique(
    attributes.map((a) => a.code),
    (i) => ['attributes', i, 'code'],
    'attribute code',
  );

  const categories = Object.keys(LEGAL_CATEGORIES) as LegalCategory[];
  const purposes = check.list(root.purposes, ['purposes']).map((raw, i) => {
    const path = ['purposes', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, ['code', 'label', 'legalCategory']);
    return {
      code: check.string(item.code, [...path, 'code'], CODE),
      label: check.label(item.label, [...path, 'label']),
      legalCategory: check.oneOf(item.legalCategory, [...path, 'legalCategory'], categories),
    };
  });
  check.unique(
    purposes.map((p) => p.code),
    (i) => ['purposes', i, 'code'],
    'purpose code',
  );

  const deadlineKinds = check.list(root.deadlineKinds, ['deadlineKinds'], true).map((raw, i) => {
    const path = ['deadlineKinds', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, ['code', 'label', 'offsetsDays']);
    const offsets =
      item.offsetsDays === undefined
        ? [...DEFAULT_OFFSETS_DAYS]
        : check.list(item.offsetsDays, [...path, 'offsetsDays']);
    offsets.forEach((offset, j) => {
      if (!Number.isInteger(offset) || (offset as number) < 0)
        check.fail([...path, 'offsetsDays', j], 'must be a whole number of days ≥ 0');
    });
    return {
      code: check.string(item.code, [...path, 'code'], CODE),
      label: check.label(item.label, [...path, 'label']),
      offsetsDays: [...new Set(offsets as number[])].sort((a, b) => b - a),
    };
  });
  check.unique(
    deadlineKinds.map((d) => d.code),
    (i) => ['deadlineKinds', i, 'code'],
    'deadline kind',
  );
  const kindCodes = new Set(deadlineKinds.map((d) => d.code));
  attributes.forEach((attribute, i) => {
    if (attribute.deadline && !kindCodes.has(attribute.deadline))
      check.fail(['attributes', i, 'deadline'], `unknown deadline kind "${attribute.deadline}"`);
  });
  return { attributes, purposes, deadlineKinds };
}

export function parseRegistry(file: string, text: string, catalogue: CatalogueDocument): RegistryDocument {
  const check = new YamlChecker(file, text);
  const doc = check.problems.length === 0 ? parseRegistryData(check, catalogue) : null;
  if (check.problems.length > 0 || !doc) throw new RegistryFileError(check.problems);
  return doc;
}

function parseRegistryData(check: YamlChecker, catalogue: CatalogueDocument): RegistryDocument {
  const attributeCodes = new Set(catalogue.attributes.map((a) => a.code));
  const purposeCodes = new Set(catalogue.purposes.map((p) => p.code));
  const deadlineCodes = new Set(catalogue.deadlineKinds.map((d) => d.code));
  const root = check.object(check.data, []);
  check.onlyKeys(root, [], ['organisations', 'services', 'legal_bases']);

  const organisations = check.list(root.organisations, ['organisations']).map((raw, i) => {
    const path = ['organisations', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, ['id', 'name']);
    return {
      id: check.string(item.id, [...path, 'id'], ID),
      name: check.label(item.name, [...path, 'name']),
    };
  });
  const organisationIds = check.unique(
    organisations.map((o) => o.id),
    (i) => ['organisations', i, 'id'],
    'organisation',
  );

  const services = check.list(root.services, ['services']).map((raw, i) => {
    const path = ['services', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, [
      'id',
      'organisation',
      'name',
      'jwks',
      'jwks_uri',
      'webhook_url',
      'rights',
      'deadlines',
    ]);
    const organisation = check.string(item.organisation, [...path, 'organisation'], ID);
    if (organisation && !organisationIds.has(organisation)) {
      check.fail([...path, 'organisation'], `unknown organisation "${organisation}"`);
    }
    const jwksUri = check.optionalString(item.jwks_uri, [...path, 'jwks_uri'], /^https?:\/\//);
    let jwks: { keys: Record<string, unknown>[] } | undefined;
    if (item.jwks !== undefined) {
      const jwksObject = check.object(item.jwks, [...path, 'jwks']);
      const keys = check.list(jwksObject.keys, [...path, 'jwks', 'keys']).map((key, k) => {
        const keyPath = [...path, 'jwks', 'keys', k];
        const jwk = check.object(key, keyPath);
        if (!ALLOWED_KEY_TYPES.includes(jwk.kty as string))
          check.fail([...keyPath, 'kty'], 'must be EC, RSA or OKP');
        if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk))
          check.fail(keyPath, 'must be a public key (no private or secret part)');
        return jwk;
      });
      jwks = { keys };
    }
    if (!jwks === !jwksUri) check.fail(path, 'needs exactly one of jwks or jwks_uri');
    const webhookUrl = check.optionalString(item.webhook_url, [...path, 'webhook_url'], /^https?:\/\//);
    const rights = check.list(item.rights, [...path, 'rights'], true).map((rawRight, r): AccessRight => {
      const rightPath = [...path, 'rights', r];
      const right = check.object(rawRight, rightPath);
      check.onlyKeys(right, rightPath, ['attribute', 'purposes', 'access']);
      const attribute = check.string(right.attribute, [...rightPath, 'attribute']);
      if (attribute && !attributeCodes.has(attribute))
        check.fail([...rightPath, 'attribute'], `unknown attribute "${attribute}"`);
      const access = check.oneOf(right.access ?? 'read', [...rightPath, 'access'], [
        'read',
        'write',
      ] as const);
      if (access === 'write' && right.purposes !== undefined) {
        // A write right is no read right: listing purposes here must not silently grant reads.
        check.fail(
          [...rightPath, 'purposes'],
          'a write right takes no purposes (declare a read right for reads)',
        );
      }
      const purposes = (access === 'write' ? [] : check.list(right.purposes, [...rightPath, 'purposes'])).map(
        (p, j) => {
          const purpose = check.string(p, [...rightPath, 'purposes', j]);
          if (purpose && !purposeCodes.has(purpose))
            check.fail([...rightPath, 'purposes', j], `unknown purpose "${purpose}"`);
          return purpose;
        },
      );
      if (access === 'read' && purposes.length === 0)
        check.fail(rightPath, 'a read right names at least one purpose');
      return { attribute, access, purposes };
    });
    const deadlines = check.list(item.deadlines, [...path, 'deadlines'], true).map((d, j) => {
      const kind = check.string(d, [...path, 'deadlines', j]);
      if (kind && !deadlineCodes.has(kind))
        check.fail([...path, 'deadlines', j], `unknown deadline kind "${kind}"`);
      return kind;
    });
    return {
      id: check.string(item.id, [...path, 'id'], ID),
      organisation,
      ...(item.name !== undefined ? { name: check.label(item.name, [...path, 'name']) } : {}),
      ...(jwks ? { jwks } : {}),
      ...(jwksUri ? { jwks_uri: jwksUri } : {}),
      ...(webhookUrl ? { webhook_url: webhookUrl } : {}),
      rights,
      deadlines,
    };
  });
  const serviceIds = check.unique(
    services.map((s) => s.id),
    (i) => ['services', i, 'id'],
    'service',
  );

  const legalBases = check.list(root.legal_bases, ['legal_bases'], true).map((raw, i) => {
    const path = ['legal_bases', i];
    const item = check.object(raw, path);
    check.onlyKeys(item, path, ['id', 'reference', 'service', 'attributes', 'purposes']);
    const service = check.string(item.service, [...path, 'service']);
    if (service && !serviceIds.has(service)) check.fail([...path, 'service'], `unknown service "${service}"`);
    const attributes = check.list(item.attributes, [...path, 'attributes']).map((a, j) => {
      const attribute = check.string(a, [...path, 'attributes', j]);
      if (attribute && !attributeCodes.has(attribute))
        check.fail([...path, 'attributes', j], `unknown attribute "${attribute}"`);
      return attribute;
    });
    const purposes = check.list(item.purposes, [...path, 'purposes']).map((p, j) => {
      const purpose = check.string(p, [...path, 'purposes', j]);
      if (purpose && !purposeCodes.has(purpose))
        check.fail([...path, 'purposes', j], `unknown purpose "${purpose}"`);
      return purpose;
    });
    return {
      id: check.string(item.id, [...path, 'id'], ID),
      reference: check.string(item.reference, [...path, 'reference']),
      service,
      attributes,
      purposes,
    };
  });
  check.unique(
    legalBases.map((b) => b.id),
    (i) => ['legal_bases', i, 'id'],
    'legal basis',
  );
  return { organisations, services, legal_bases: legalBases };
}

/**
 * Reads and checks both files and reports every problem found at once. The
 * registry is checked against the catalogue as far as the catalogue could be
 * read; a catalogue that is not even valid YAML leaves only the registry's own
 * syntax to check.
 */
export function loadRegistryFiles(
  registryFile: string,
  catalogueFile: string,
): {
  registry: RegistryDocument;
  catalogue: CatalogueDocument;
} {
  const catalogueCheck = new YamlChecker(catalogueFile, readFileSync(catalogueFile, 'utf8'));
  const catalogue = catalogueCheck.problems.length === 0 ? parseCatalogueData(catalogueCheck) : null;
  const registryCheck = new YamlChecker(registryFile, readFileSync(registryFile, 'utf8'));
  const registry =
    registryCheck.problems.length === 0 && catalogue ? parseRegistryData(registryCheck, catalogue) : null;
  if (catalogue && registry) {
    const organisationIds = new Set(registry.organisations.map((o) => o.id));
    const attributes = new Map(catalogue.attributes.map((a) => [a.code, a]));
    registry.services.forEach((service, i) => {
      service.rights.forEach((right, r) => {
        const definition = attributes.get(right.attribute);
        if (right.access !== 'write' || !definition) return;
        // For an official source's attribute, an unknown organisation on either side is reported on its own.
        const unknownOrganisation =
          !definition.selfDeclarable &&
          definition.authority !== undefined &&
          (!organisationIds.has(service.organisation) || !organisationIds.has(definition.authority));
        const refusal = unknownOrganisation
          ? undefined
          : catalogueWriteRefusal(definition, service.organisation);
        // The catalogue says who the official source is; a write right cannot make another one.
        if (refusal)
          registryCheck.fail(['services', i, 'rights', r, 'access'], `${refusal} (${catalogueFile})`);
      });
    });
    catalogue.attributes.forEach((attribute, i) => {
      if (attribute.authority && !organisationIds.has(attribute.authority)) {
        catalogueCheck.fail(
          ['attributes', i, 'authority'],
          `unknown organisation "${attribute.authority}" (not in ${registryFile})`,
        );
      }
    });
  }
  const problems = [...catalogueCheck.problems, ...registryCheck.problems];
  if (problems.length > 0 || !catalogue || !registry) throw new RegistryFileError(problems);
  return { registry, catalogue };
}
