import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type YAMLError,
} from 'yaml';
import { ConfigError } from '../errors.js';
import { joinPath } from './describe-value.js';

/**
 * Values that aliases may add to the config, counted as if each alias were written out in full. A
 * real config stays far below; an alias bomb (`&a [*b, *b, ...]` nested) passes it in a few levels.
 */
export const MAX_ALIASED_VALUES = 10_000;

type Node = unknown;

function where(error: YAMLError): string {
  const pos = error.linePos?.[0];
  return pos ? ` at line ${pos.line}, column ${pos.col}` : '';
}

function firstLine(error: YAMLError): string {
  return (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
}

function rangeOf(node: Node): readonly [number, number] | undefined {
  const range = (node as { range?: readonly [number, number, number] } | null)?.range;
  return range ? [range[0], range[2]] : undefined;
}

/**
 * Walks the document once, before it becomes plain data: names the key path of an alias without
 * an anchor, of an alias inside what it refers to, of aliases that expand beyond
 * MAX_ALIASED_VALUES, and of the innermost value holding each of `positions` (warnings).
 */
class DocumentCheck {
  private aliased = 0;
  private readonly sizes = new Map<Node, number>();
  private readonly open = new Set<Node>();
  readonly pathAt = new Map<number, string>();

  constructor(
    private readonly doc: Document,
    private readonly positions: readonly number[],
  ) {}

  /** Records `path` for every position within [start, end): deeper values overwrite outer ones. */
  private locate(path: string, start: number, end: number): void {
    for (const pos of this.positions) if (pos >= start && pos < end) this.pathAt.set(pos, path);
  }

  private target(alias: { source: string; resolve: (doc: Document) => unknown }, path: string) {
    const target = alias.resolve(this.doc);
    if (target === undefined) {
      throw new ConfigError(`${path}: YAML alias *${alias.source} has no anchor before it`);
    }
    if (this.open.has(target)) {
      throw new ConfigError(`${path}: YAML alias *${alias.source} is inside what it refers to`);
    }
    return target;
  }

  /** How many values a node stands for, aliases written out (memoised: linear in the document). */
  private size(node: Node, path: string): number {
    const known = this.sizes.get(node);
    if (known !== undefined) return known;
    let size = 1;
    this.open.add(node);
    if (isAlias(node)) size = this.size(this.target(node, path), path);
    else if (isMap(node))
      for (const pair of node.items)
        size += this.size(pair.key, path) + this.size(pair.value, path);
    else if (isSeq(node)) for (const item of node.items) size += this.size(item, path);
    this.open.delete(node);
    this.sizes.set(node, size);
    return size;
  }

  walk(node: Node, path: string, from: number): void {
    const range = rangeOf(node);
    if (range) this.locate(path, from, range[1]);
    if (isAlias(node)) {
      this.aliased += this.size(this.target(node, path), path);
      if (this.aliased > MAX_ALIASED_VALUES) {
        throw new ConfigError(
          `${path}: YAML aliases expand to more than ${MAX_ALIASED_VALUES} values (an alias bomb?)`,
        );
      }
      return;
    }
    this.open.add(node);
    let previous = range?.[0] ?? from;
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const start = rangeOf(pair.key)?.[0] ?? previous;
        this.walk(pair.key, path, start);
        this.walk(pair.value, joinPath(path, key), start);
        previous = rangeOf(pair.value)?.[1] ?? previous;
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        this.walk(item, joinPath(path, i), previous);
        previous = rangeOf(item)?.[1] ?? previous;
      });
    }
    this.open.delete(node);
  }
}

/**
 * YAML text (JSON is YAML) to plain data. Every problem is a ConfigError naming where it is: syntax
 * errors and duplicate keys by line, unknown tags, missing anchors and alias bombs by key path.
 */
export function parseYaml(text: string, fileName: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true });
  const [error] = doc.errors;
  if (error) throw new ConfigError(`${fileName}: invalid YAML${where(error)}: ${firstLine(error)}`);
  const check = new DocumentCheck(
    doc,
    doc.warnings.map((w) => w.pos[0]),
  );
  check.walk(doc.contents, '', 0);
  const [warning] = doc.warnings;
  if (warning) {
    const path = check.pathAt.get(warning.pos[0]) || fileName;
    throw new ConfigError(`${path}: invalid YAML${where(warning)}: ${firstLine(warning)}`);
  }
  // Aliases are bounded above; the library's own count would refuse a config that merely
  // reuses one anchor many times.
  return doc.toJS({ maxAliasCount: -1 });
}
