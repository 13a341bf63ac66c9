import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CatalogueDocument } from './model.js';
import { loadRegistryFiles, parseCatalogue, parseRegistry } from './registry-files.js';
import { type FileProblem, RegistryFileError } from './yaml-checker.js';

const REGISTRY_FILE = 'config/registry.yaml';
const CATALOGUE_FILE = 'config/catalogue.yaml';

const CATALOGUE_YAML = `attributes:
  - code: contact.email
    label: { fr: Courriel, en: E-mail }
    type: email
    selfDeclarable: true
  - code: address.residential
    label: { fr: Adresse, en: Address }
    type: postal-address
    authority: SAAQ
purposes:
  - code: licence-renewal
    label: { fr: Renouvellement du permis, en: Licence renewal }
    legalCategory: service-simplification
deadlineKinds:
  - code: licence-renewal
    label: { fr: Échéance du permis, en: Licence expiry }
`;

const REGISTRY_YAML = `organisations:
  - id: SAAQ
    name: { fr: SAAQ, en: SAAQ }
services:
  - id: saaq-permis
    organisation: SAAQ
    jwks: { keys: [{ kty: OKP, crv: Ed25519, x: 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo }] }
    rights:
      - { attribute: address.residential, purposes: [licence-renewal] }
      - { attribute: address.residential, access: write }
    deadlines: [licence-renewal]
legal_bases:
  - id: saaq-address
    reference: "RLRQ, c. C-24.2"
    service: saaq-permis
    attributes: [address.residential]
    purposes: [licence-renewal]
`;

const catalogue: CatalogueDocument = parseCatalogue('catalogue.yaml', CATALOGUE_YAML);

/** The registry fixture with one piece of text replaced; fails loudly if the piece is not there. */
function registryWith(search: string, replacement: string): string {
  if (!REGISTRY_YAML.includes(search)) throw new Error(`fixture has no "${search}"`);
  return REGISTRY_YAML.replace(search, replacement);
}

/** 1-based line of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string, occurrence = 1): number {
  let seen = 0;
  const index = text.split('\n').findIndex((line) => line.includes(needle) && ++seen === occurrence);
  if (index < 0) throw new Error(`"${needle}" is not in the text`);
  return index + 1;
}

function problemsOf(parse: () => unknown): FileProblem[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof RegistryFileError) return error.problems;
    throw error;
  }
  throw new Error('expected a RegistryFileError');
}

function registryProblems(text: string): FileProblem[] {
  return problemsOf(() => parseRegistry('registry.yaml', text, catalogue));
}

describe(parseCatalogue.name, () => {
  it('reads the real catalogue: its 12 attributes, 5 purposes and 4 deadline kinds', () => {
    const real = parseCatalogue(CATALOGUE_FILE, readFileSync(CATALOGUE_FILE, 'utf8'));
    expect(real.attributes.map((a) => a.code)).toEqual([
      'identity.given_name',
      'identity.family_name',
      'identity.birthdate',
      'contact.email',
      'contact.phone',
      'address.residential',
      'civil.marital_status',
      'health.insurance_number',
      'health.card_expiry',
      'licence.driver_number',
      'licence.driver_expiry',
      'banking.direct_deposit',
    ]);
    expect(real.purposes.map((p) => p.code)).toEqual([
      'licence-renewal',
      'health-card-renewal',
      'tax-credit',
      'benefit-application',
      'change-of-address',
    ]);
    expect(real.deadlineKinds.map((d) => d.code)).toEqual([
      'health-card-renewal',
      'licence-renewal',
      'tax-filing',
      'benefit-renewal',
    ]);
  });

  it('fills in the defaults: normal sensitivity, not self-declarable, reminders 30, 7 and 1 days before', () => {
    expect(catalogue.attributes[1]).toEqual({
      code: 'address.residential',
      label: { fr: 'Adresse', en: 'Address' },
      type: 'postal-address',
      sensitivity: 'normal',
      selfDeclarable: false,
      authority: 'SAAQ',
    });
    expect(catalogue.deadlineKinds[0].offsetsDays).toEqual([30, 7, 1]);
  });

  it('sorts reminder offsets from the earliest and drops repeats', () => {
    const text = CATALOGUE_YAML.replace(
      '    label: { fr: Échéance du permis, en: Licence expiry }\n',
      '    label: { fr: Échéance du permis, en: Licence expiry }\n    offsetsDays: [1, 30, 7, 30]\n',
    );
    expect(parseCatalogue('catalogue.yaml', text).deadlineKinds[0].offsetsDays).toEqual([30, 7, 1]);
  });

  it.each([
    [
      'an unknown type',
      'type: email',
      'type: telephone',
      'attributes.0.type',
      'must be one of string, date, email, phone, postal-address',
    ],
    [
      'an unknown field',
      'selfDeclarable: true',
      'selfDeclarable: true\n    encrypted: yes',
      'attributes.0.encrypted',
      'unknown field "encrypted"',
    ],
    [
      'an invalid pattern',
      'type: email',
      'type: string\n    pattern: "[A-Z"',
      'attributes.0.pattern',
      'is not a valid regular expression',
    ],
    [
      'a code that is not lower-case dotted',
      'code: contact.email',
      'code: Contact.Email',
      'attributes.0.code',
      'must be a string matching',
    ],
    [
      'an unknown legal category',
      'legalCategory: service-simplification',
      'legalCategory: convenience',
      'purposes.0.legalCategory',
      'must be one of',
    ],
  ])('reports %s with its file, line and path', (_case, search, replacement, path, message) => {
    const text = CATALOGUE_YAML.replace(search, replacement);
    const problems = problemsOf(() => parseCatalogue('catalogue.yaml', text));
    const needle = replacement.split('\n').pop()!.trim();
    expect(problems).toEqual([
      expect.objectContaining({
        file: 'catalogue.yaml',
        line: lineOf(text, needle),
        path,
        message: expect.stringContaining(message),
      }),
    ]);
  });

  it('reads the deadline kind an expiring attribute creates', () => {
    const real = parseCatalogue(CATALOGUE_FILE, readFileSync(CATALOGUE_FILE, 'utf8'));
    const expiring = real.attributes.filter((a) => a.deadline).map((a) => [a.code, a.deadline]);
    expect(expiring).toEqual([
      ['health.card_expiry', 'health-card-renewal'],
      ['licence.driver_expiry', 'licence-renewal'],
    ]);
  });

  it.each([
    ['a deadline on an attribute that is not a date', 'type: postal-address', 'only a date attribute'],
    ['an unknown deadline kind', 'type: date', 'unknown deadline kind "passport-renewal"'],
  ])('refuses %s, naming its path', (_case, type, message) => {
    const text = CATALOGUE_YAML.replace(
      '    type: postal-address\n    authority: SAAQ\n',
      `    ${type}\n    authority: SAAQ\n    deadline: ${type === 'type: date' ? 'passport-renewal' : 'licence-renewal'}\n`,
    );
    expect(problemsOf(() => parseCatalogue('catalogue.yaml', text))).toEqual([
      expect.objectContaining({ path: 'attributes.1.deadline', message: expect.stringContaining(message) }),
    ]);
  });

  it('refuses a deadline on an attribute without authority, naming its path', () => {
    const text = CATALOGUE_YAML.replace(
      '    type: email\n    selfDeclarable: true\n',
      '    type: date\n    selfDeclarable: true\n    deadline: licence-renewal\n',
    );
    expect(problemsOf(() => parseCatalogue('catalogue.yaml', text))).toEqual([
      expect.objectContaining({
        path: 'attributes.0.deadline',
        message: expect.stringContaining('needs an authority'),
      }),
    ]);
  });

  it('requires an authority for an attribute that is not self-declarable', () => {
    const text = CATALOGUE_YAML.replace('    authority: SAAQ\n', '');
    expect(problemsOf(() => parseCatalogue('catalogue.yaml', text))).toEqual([
      expect.objectContaining({
        line: lineOf(text, 'code: address.residential'),
        path: 'attributes.1',
        message: expect.stringContaining('needs an authority'),
      }),
    ]);
  });

  it('reports a duplicate attribute code at its second occurrence', () => {
    const text = CATALOGUE_YAML.replace('code: address.residential', 'code: contact.email');
    expect(problemsOf(() => parseCatalogue('catalogue.yaml', text))).toEqual([
      expect.objectContaining({
        line: lineOf(text, 'code: contact.email', 2),
        path: 'attributes.1.code',
        message: 'duplicate attribute code "contact.email"',
      }),
    ]);
  });
});

describe(parseRegistry.name, () => {
  it('reads the fixture into the model', () => {
    expect(parseRegistry('registry.yaml', REGISTRY_YAML, catalogue)).toEqual({
      organisations: [{ id: 'SAAQ', name: { fr: 'SAAQ', en: 'SAAQ' } }],
      services: [
        {
          id: 'saaq-permis',
          organisation: 'SAAQ',
          jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }] },
          rights: [
            { attribute: 'address.residential', access: 'read', purposes: ['licence-renewal'] },
            { attribute: 'address.residential', access: 'write', purposes: [] },
          ],
          deadlines: ['licence-renewal'],
        },
      ],
      legal_bases: [
        {
          id: 'saaq-address',
          reference: 'RLRQ, c. C-24.2',
          service: 'saaq-permis',
          attributes: ['address.residential'],
          purposes: ['licence-renewal'],
        },
      ],
    });
  });

  it.each([
    {
      case: 'a right naming an unknown attribute',
      search: 'attribute: address.residential, access: write',
      replacement: 'attribute: contact.fax, access: write',
      path: 'services.0.rights.1.attribute',
      message: 'unknown attribute "contact.fax"',
    },
    {
      case: 'a right naming an unknown purpose',
      search: 'purposes: [licence-renewal] }',
      replacement: 'purposes: [licence-renewal, marketing] }',
      needle: 'marketing',
      path: 'services.0.rights.0.purposes.1',
      message: 'unknown purpose "marketing"',
    },
    {
      case: 'a read right without a purpose',
      search: '{ attribute: address.residential, purposes: [licence-renewal] }',
      replacement: '{ attribute: address.residential, purposes: [] }',
      needle: 'purposes: [] }',
      path: 'services.0.rights.0',
      message: 'a read right names at least one purpose',
    },
    {
      case: 'a legal basis naming an unknown service',
      search: 'service: saaq-permis',
      replacement: 'service: saaq-permits',
      path: 'legal_bases.0.service',
      message: 'unknown service "saaq-permits"',
    },
    {
      case: 'a legal basis naming an unknown purpose',
      search: '    purposes: [licence-renewal]\n',
      replacement: '    purposes: [tax-credit]\n',
      needle: 'tax-credit',
      path: 'legal_bases.0.purposes.0',
      message: 'unknown purpose "tax-credit"',
    },
    {
      case: 'a service with an unknown organisation',
      search: 'organisation: SAAQ',
      replacement: 'organisation: RAMQ',
      path: 'services.0.organisation',
      message: 'unknown organisation "RAMQ"',
    },
    {
      case: 'a private key in jwks',
      search: '{ kty: OKP,',
      replacement: '{ d: nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A, kty: OKP,',
      needle: 'd: nWGxne',
      path: 'services.0.jwks.keys.0',
      message: 'must be a public key (no private or secret part)',
    },
    {
      case: 'a secret key in jwks',
      search: '{ kty: OKP, crv: Ed25519, x: 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo }',
      replacement: '{ kty: oct, k: c2VjcmV0 }',
      needle: 'kty: oct',
      path: 'services.0.jwks.keys.0',
      message: 'must be a public key (no private or secret part)',
      alsoPath: 'services.0.jwks.keys.0.kty',
    },
    {
      case: 'a service with both jwks and jwks_uri',
      search: '    rights:\n',
      replacement: '    jwks_uri: https://saaq.example/jwks.json\n    rights:\n',
      needle: 'id: saaq-permis',
      path: 'services.0',
      message: 'needs exactly one of jwks or jwks_uri',
    },
    {
      case: 'an unknown field',
      search: '    deadlines: [licence-renewal]\n',
      replacement: '    deadlines: [licence-renewal]\n    scopes: [openid]\n',
      needle: 'scopes:',
      path: 'services.0.scopes',
      message: 'unknown field "scopes"',
    },
    {
      case: 'an unknown deadline kind',
      search: 'deadlines: [licence-renewal]',
      replacement: 'deadlines: [tax-filing]',
      path: 'services.0.deadlines.0',
      message: 'unknown deadline kind "tax-filing"',
    },
  ])(
    'reports $case with its file, line and path',
    ({ search, replacement, needle, path, message, alsoPath }) => {
      const text = registryWith(search, replacement);
      const problems = registryProblems(text);
      expect(problems).toContainEqual(
        expect.objectContaining({
          file: 'registry.yaml',
          line: lineOf(text, needle ?? replacement),
          path,
          message,
        }),
      );
      expect(problems.map((p) => p.path).sort()).toEqual([path, ...(alsoPath ? [alsoPath] : [])].sort());
    },
  );

  it('reports a duplicate service id at its second occurrence', () => {
    const second = `  - id: saaq-permis
    organisation: SAAQ
    jwks_uri: https://saaq.example/jwks.json
`;
    const text = registryWith('legal_bases:\n', `${second}legal_bases:\n`);
    expect(registryProblems(text)).toEqual([
      {
        file: 'registry.yaml',
        line: lineOf(text, 'id: saaq-permis', 2),
        column: 9,
        path: 'services.1.id',
        message: 'duplicate service "saaq-permis"',
      },
    ]);
  });

  it.each([
    ['an unclosed flow mapping', '    name: { fr: SAAQ, en: SAAQ }\n', '    name: { fr: SAAQ, en: SAAQ\n', 4],
    [
      'a repeated key',
      '    name: { fr: SAAQ, en: SAAQ }\n',
      '    name: { fr: SAAQ, en: SAAQ }\n    id: RAMQ\n',
      4,
    ],
    ['a badly indented key', '    name: { fr: SAAQ, en: SAAQ }\n', '   name: { fr: SAAQ, en: SAAQ }\n', 3],
    [
      'a tab used as indentation',
      '    name: { fr: SAAQ, en: SAAQ }\n',
      '\tname: { fr: SAAQ, en: SAAQ }\n',
      3,
    ],
  ])('reports invalid YAML (%s) at its line', (_case, search, replacement, line) => {
    const problems = registryProblems(registryWith(search, replacement));
    expect(problems).toEqual([expect.objectContaining({ file: 'registry.yaml', line, path: '(yaml)' })]);
  });

  it('reports every problem of the file at once, in one error message', () => {
    const text = REGISTRY_YAML.replace('organisation: SAAQ', 'organisation: MTQ')
      .replace('attribute: address.residential, access: write', 'attribute: contact.fax, access: write')
      .replace('service: saaq-permis', 'service: nobody');
    let error: unknown;
    try {
      parseRegistry('registry.yaml', text, catalogue);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RegistryFileError);
    const problems = (error as RegistryFileError).problems;
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [lineOf(text, 'MTQ'), 'services.0.organisation'],
      [lineOf(text, 'contact.fax'), 'services.0.rights.1.attribute'],
      [lineOf(text, 'service: nobody'), 'legal_bases.0.service'],
    ]);
    const messageLines = (error as Error).message.split('\n');
    expect(messageLines).toHaveLength(3);
    expect(messageLines[0]).toBe(
      `registry.yaml:${lineOf(text, 'MTQ')}:19 services.0.organisation: unknown organisation "MTQ"`,
    );
  });

  it('rejects an empty file', () => {
    expect(registryProblems('')).toContainEqual(
      expect.objectContaining({ line: 1, path: '', message: 'must be a mapping' }),
    );
  });
});

describe(loadRegistryFiles.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'une-fois-registry-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  it('loads the real registry and catalogue of config/', () => {
    const { registry, catalogue: real } = loadRegistryFiles(REGISTRY_FILE, CATALOGUE_FILE);
    expect(registry.organisations.map((o) => o.id)).toEqual([
      'SAAQ',
      'RAMQ',
      'RQ',
      'DEC',
      'RETRAITE',
      'MESS',
    ]);
    expect(registry.services.length).toBeGreaterThanOrEqual(6);
    expect(new Set(registry.services.map((s) => s.id)).size).toBe(registry.services.length);
    expect(registry.legal_bases.map((b) => b.id)).toContain('rq-income-check');
    expect(real.attributes).toHaveLength(12);
    expect(real.purposes).toHaveLength(5);
    for (const service of registry.services) {
      for (const key of service.jwks?.keys ?? []) expect(key).not.toHaveProperty('d');
    }
  });

  it('loads a pair of files written elsewhere', () => {
    const { registry } = loadRegistryFiles(write('r.yaml', REGISTRY_YAML), write('c.yaml', CATALOGUE_YAML));
    expect(registry.services.map((s) => s.id)).toEqual(['saaq-permis']);
  });

  it('names the registry file in the problems of the registry', () => {
    const registryFile = write('r.yaml', registryWith('organisation: SAAQ', 'organisation: MTQ'));
    expect(problemsOf(() => loadRegistryFiles(registryFile, write('c.yaml', CATALOGUE_YAML)))).toEqual([
      expect.objectContaining({ file: registryFile, line: 6, path: 'services.0.organisation' }),
    ]);
  });

  it('names the catalogue file in the problems of the catalogue', () => {
    const catalogueFile = write('c.yaml', CATALOGUE_YAML.replace('type: email', 'type: telephone'));
    expect(problemsOf(() => loadRegistryFiles(write('r.yaml', REGISTRY_YAML), catalogueFile))).toEqual([
      expect.objectContaining({ file: catalogueFile, line: 4, path: 'attributes.0.type' }),
    ]);
  });

  it('refuses an attribute whose authority is not an organisation of the registry', () => {
    const catalogueFile = write('c.yaml', CATALOGUE_YAML.replace('authority: SAAQ', 'authority: RAMQ'));
    const registryFile = write('r.yaml', REGISTRY_YAML);
    const text = CATALOGUE_YAML.replace('authority: SAAQ', 'authority: RAMQ');
    expect(problemsOf(() => loadRegistryFiles(registryFile, catalogueFile))).toEqual([
      expect.objectContaining({
        file: catalogueFile,
        line: lineOf(text, 'authority: RAMQ'),
        path: expect.stringMatching(/^attributes\.\d+\.authority$/),
        message: `unknown organisation "RAMQ" (not in ${registryFile})`,
      }),
    ]);
  });

  it('reports the problems of both files at once', () => {
    const catalogueFile = write('c.yaml', CATALOGUE_YAML.replace('type: email', 'type: telephone'));
    const registryFile = write('r.yaml', REGISTRY_YAML.replace('organisation: SAAQ', 'organisation: XX'));
    const problems = problemsOf(() => loadRegistryFiles(registryFile, catalogueFile));
    expect(problems.map((p) => p.file)).toEqual(expect.arrayContaining([catalogueFile, registryFile]));
  });

  it.each([
    [
      'contact.email',
      '{ attribute: contact.email, access: write }',
      'contact.email is declared by the citizen; no service writes it. (CATALOGUE)',
    ],
    [
      'address.residential',
      '{ attribute: address.residential, access: write }',
      'The catalogue names SAAQ, not RAMQ, as the official source of address.residential. (CATALOGUE)',
    ],
  ])('refuses a write right on %s the catalogue does not give the organisation', (_code, right, message) => {
    const registryFile = write(
      'r.yaml',
      registryWith('      - { attribute: address.residential, access: write }', `      - ${right}`).replace(
        '  - id: SAAQ\n    name: { fr: SAAQ, en: SAAQ }\nservices:\n  - id: saaq-permis\n    organisation: SAAQ',
        right.includes('address')
          ? '  - id: SAAQ\n    name: { fr: SAAQ, en: SAAQ }\n  - id: RAMQ\n    name: { fr: RAMQ, en: RAMQ }\nservices:\n  - id: saaq-permis\n    organisation: RAMQ'
          : '  - id: SAAQ\n    name: { fr: SAAQ, en: SAAQ }\nservices:\n  - id: saaq-permis\n    organisation: SAAQ',
      ),
    );
    const catalogueFile = write('c.yaml', CATALOGUE_YAML);
    expect(problemsOf(() => loadRegistryFiles(registryFile, catalogueFile))).toEqual([
      expect.objectContaining({
        file: registryFile,
        path: expect.stringMatching(/^services\.0\.rights\.1\.access$/),
        message: message.replace('CATALOGUE', catalogueFile),
      }),
    ]);
  });

  it('refuses purposes on a write right, which would otherwise grant reads', () => {
    const registryFile = write(
      'r.yaml',
      REGISTRY_YAML.replace(
        '{ attribute: address.residential, access: write }',
        '{ attribute: address.residential, access: write, purposes: [licence-renewal] }',
      ),
    );
    expect(problemsOf(() => loadRegistryFiles(registryFile, write('c.yaml', CATALOGUE_YAML)))).toEqual([
      expect.objectContaining({
        file: registryFile,
        path: expect.stringMatching(/rights\.\d+\.purposes$/),
        message: expect.stringContaining('write right takes no purposes'),
      }),
    ]);
  });
});
