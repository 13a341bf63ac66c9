import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Each lib's tier; the README's lib table shows the same. Arrows point one way:
 * apps → domain libs → infra libs, so an infra lib never imports a domain lib.
 * A new lib is one line here; lint refuses to run while a lib has no tier.
 */
const LIB_TIERS = {
  config: 'infra',
  errors: 'infra',
  database: 'infra',
  http: 'infra',
  crypto: 'infra',
  outbound: 'infra',
  outbox: 'infra',
  queues: 'infra',
  web: 'infra',
  catalogue: 'domain',
  identity: 'domain',
  vault: 'domain',
  consent: 'domain',
  'access-log': 'domain',
  erasure: 'domain',
  release: 'domain',
  metrics: 'domain',
  channels: 'domain',
  reminders: 'domain',
};

const untiered = readdirSync(new URL('./libs', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !['infra', 'domain'].includes(LIB_TIERS[entry.name]))
  .map((entry) => `libs/${entry.name}`);
if (untiered.length > 0) {
  throw new Error(`eslint.config.js: no tier (infra or domain) in LIB_TIERS for ${untiered.join(', ')}`);
}

const libsOf = (tier) => Object.keys(LIB_TIERS).filter((lib) => LIB_TIERS[lib] === tier);

// An app never imports another app, a lib never imports an app,
// and a lib reaches another lib only through its `#libs/<name>` door.
const BOUNDARY = {
  group: ['**/apps/**', '../../*', '../../../*', '../../../../*'],
  message: 'Cross an app or lib boundary only through #libs/<name>.',
};

const INFRA_TO_DOMAIN = {
  regex: `^#libs/(${libsOf('domain').join('|')})(/|$)`,
  message:
    'An infra lib never imports a domain lib (see LIB_TIERS in eslint.config.js): move the shared piece down to an infra lib, or the code up to a domain lib.',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [BOUNDARY] }] },
  },
  {
    // The rule's options replace those above for these files, so the boundary is repeated.
    files: libsOf('infra').map((lib) => `libs/${lib}/**/*.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [BOUNDARY, INFRA_TO_DOMAIN] }] },
  },
);
