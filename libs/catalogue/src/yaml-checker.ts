import { isNode, LineCounter, parseDocument, type Document } from 'yaml';

export type Path = (string | number)[];

export interface FileProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class RegistryFileError extends Error {
  constructor(readonly problems: FileProblem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`).join('\n'));
    this.name = 'RegistryFileError';
  }
}

/**
 * A parsed YAML file and the problems found in it, each placed at the line
 * and column of the value it is about (or of its nearest existing parent).
 */
export class YamlChecker {
  private readonly doc: Document;
  private readonly lines = new LineCounter();
  readonly problems: FileProblem[] = [];
  readonly data: unknown;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const error of this.doc.errors) {
      const pos = this.lines.linePos(error.pos[0]);
      this.problems.push({ file, line: pos.line, column: pos.col, path: '(yaml)', message: error.message });
    }
    this.data = this.doc.errors.length === 0 ? this.doc.toJS() : null;
  }

  fail(path: Path, message: string): void {
    let node: unknown = null;
    for (let depth = path.length; depth >= 0 && !isNode(node); depth--) {
      node = this.doc.getIn(path.slice(0, depth), true);
    }
    const offset = isNode(node) && node.range ? node.range[0] : 0;
    const pos = this.lines.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, column: pos.col, path: path.join('.'), message });
  }

  // Small typed readers: each records a problem and returns a fallback instead of throwing,
  // so one pass reports every problem in the file.

  object(value: unknown, path: Path): Record<string, unknown> {
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      return value as Record<string, unknown>;
    this.fail(path, 'must be a mapping');
    return {};
  }

  list(value: unknown, path: Path, optional = false): unknown[] {
    if (Array.isArray(value)) return value;
    if (optional && value === undefined) return [];
    this.fail(path, 'must be a list');
    return [];
  }

  string(value: unknown, path: Path, pattern?: RegExp): string {
    if (typeof value === 'string' && value.trim() !== '' && (!pattern || pattern.test(value))) return value;
    this.fail(path, pattern ? `must be a string matching ${pattern}` : 'must be a non-empty string');
    return '';
  }

  optionalString(value: unknown, path: Path, pattern?: RegExp): string | undefined {
    return value === undefined ? undefined : this.string(value, path, pattern);
  }

  label(value: unknown, path: Path): { fr: string; en: string } {
    const record = this.object(value, path);
    this.onlyKeys(record, path, ['fr', 'en']);
    return { fr: this.string(record.fr, [...path, 'fr']), en: this.string(record.en, [...path, 'en']) };
  }

  oneOf<T extends string>(value: unknown, path: Path, allowed: readonly T[]): T {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.fail(path, `must be one of ${allowed.join(', ')}`);
    return allowed[0];
  }

  onlyKeys(record: Record<string, unknown>, path: Path, allowed: string[]): void {
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown field "${key}"`);
    }
  }

  unique(ids: string[], path: (index: number) => Path, what: string): Set<string> {
    const seen = new Set<string>();
    ids.forEach((id, index) => {
      if (id && seen.has(id)) this.fail(path(index), `duplicate ${what} "${id}"`);
      seen.add(id);
    });
    return seen;
  }
}
