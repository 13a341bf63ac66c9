import { readdirSync, readFileSync } from 'node:fs';
import { ESLint } from 'eslint';

const ROOT = process.cwd();
const LIBS = readdirSync(`${ROOT}/libs`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** The tier column of the README's lib table. */
function readmeTiers(): Map<string, string> {
  const tiers = new Map<string, string>();
  for (const line of readFileSync(`${ROOT}/README.md`, 'utf8').split('\n')) {
    const row = /^\| `([a-z-]+)` \| (infra|domain) \|/.exec(line);
    if (row) tiers.set(row[1], row[2]);
  }
  return tiers;
}

describe('Lib tiers', () => {
  const eslint = new ESLint({ cwd: ROOT });

  async function lintImport(fromLib: string, toLib: string): Promise<string[]> {
    const code = `import type * as other from '#libs/${toLib}';\nexport type Other = typeof other;\n`;
    const [result] = await eslint.lintText(code, { filePath: `libs/${fromLib}/src/tier-probe.ts` });
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('refuses an infra lib importing a domain lib', async () => {
    const messages = await lintImport('http', 'consent');
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*infra lib never imports a domain lib/),
    ]);
  });

  it('lets a domain lib import an infra lib, and another domain lib', async () => {
    expect(await lintImport('consent', 'config')).toEqual([]);
    expect(await lintImport('consent', 'vault')).toEqual([]);
  });

  it('lets an infra lib import another infra lib', async () => {
    expect(await lintImport('http', 'errors')).toEqual([]);
  });

  it('gives every lib the tier the README names, and lint holds it', async () => {
    const tiers = readmeTiers();
    for (const lib of LIBS) {
      expect([lib, tiers.get(lib)]).toEqual([lib, expect.stringMatching(/^(infra|domain)$/)]);
      const domainTarget = lib === 'catalogue' ? 'vault' : 'catalogue';
      const refused = (await lintImport(lib, domainTarget)).length > 0;
      expect([lib, refused]).toEqual([lib, tiers.get(lib) === 'infra']);
    }
  });

  it('lists every lib in nest-cli.json', () => {
    const projects = JSON.parse(readFileSync(`${ROOT}/nest-cli.json`, 'utf8')).projects as Record<
      string,
      { type: string; root: string }
    >;
    for (const lib of LIBS) {
      expect([lib, projects[lib]]).toEqual([
        lib,
        expect.objectContaining({ type: 'library', root: `libs/${lib}` }),
      ]);
    }
  });
});
