import { configJsonSchema } from './json-schema.js';

/**
 * The configuration reference of docs/configuration.md: one table per object of the config (the
 * JSON Schema's definitions), each key with its type, default and description, generated from the
 * same zod schema as pgcopy.schema.json. `npm run schema` writes it between the markers below; a
 * test fails while the page differs from what the schema gives.
 */

export const CONFIG_DOCS_BEGIN = '<!-- BEGIN GENERATED: config reference (npm run schema) -->';
export const CONFIG_DOCS_END = '<!-- END GENERATED: config reference -->';

/** The part of a JSON Schema this generator reads. */
interface Node {
  readonly $ref?: string;
  readonly anyOf?: readonly Node[];
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly items?: Node;
  readonly properties?: Readonly<Record<string, Node>>;
  readonly additionalProperties?: Node | boolean;
  readonly required?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly description?: string;
  readonly title?: string;
  readonly default?: unknown;
}

const DURATION_PATTERN = /\(ms\|s\|min\|h\|d\)/;
const DIGITS_PATTERN = '^\\d+$';
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function defName(ref: string): string {
  return ref.replace('#/$defs/', '');
}

function defTitle(defs: Readonly<Record<string, Node>>, name: string): string {
  return defs[name]?.title ?? name;
}

/** Without the `null` that `.nullish()` adds: absent and empty mean the same. */
function withoutNull(nodes: readonly Node[]): Node[] {
  return nodes.filter((n) => n.type !== 'null');
}

function isDigitsText(node: Node): boolean {
  return node.type === 'string' && node.pattern === DIGITS_PATTERN;
}

function integerType(node: Node): string {
  const { minimum, maximum } = node;
  if (minimum === undefined) return 'integer';
  if (maximum === undefined || maximum >= MAX_SAFE) return `integer >= ${minimum}`;
  return `integer ${minimum}-${maximum}`;
}

/** A value of the schema as code: `append`, `false`, `2`. */
function literal(value: unknown): string {
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/** A key's type in words, with links to the tables of the objects it holds. */
function typeOf(node: Node, defs: Readonly<Record<string, Node>>): string {
  if (node.$ref) {
    const name = defName(node.$ref);
    const title = defTitle(defs, name);
    return `[${title}](#${headingSlug(title)})`;
  }
  if (node.enum) return node.enum.map(literal).join(' \\| ');
  if (node.const !== undefined) return literal(node.const);
  if (node.anyOf) {
    const choices = withoutNull(node.anyOf);
    // A number that may also be written as digits in a string (YAML or ${VAR}): an integer.
    const integer = choices.find((c) => c.type === 'integer');
    if (choices.length === 2 && integer && choices.some(isDigitsText)) return integerType(integer);
    if (choices.some((c) => c.pattern !== undefined && DURATION_PATTERN.test(c.pattern))) {
      return 'duration';
    }
    return choices.map((c) => typeOf(c, defs)).join(' \\| ');
  }
  switch (node.type) {
    case 'integer':
      return integerType(node);
    case 'array':
      return `list of ${node.items ? typeOf(node.items, defs) : 'values'}`;
    case 'object':
      if (typeof node.additionalProperties === 'object') {
        return `map of string to ${typeOf(node.additionalProperties, defs)}`;
      }
      return 'object';
    default:
      if (Array.isArray(node.type)) return node.type.filter((t) => t !== 'null').join(' \\| ');
      return typeof node.type === 'string' ? node.type : 'any';
  }
}

/** The first description on the way down through `anyOf`s. */
function descriptionOf(node: Node): string | undefined {
  if (node.description) return node.description;
  for (const choice of withoutNull(node.anyOf ?? [])) {
    const found = descriptionOf(choice);
    if (found) return found;
  }
  return undefined;
}

/** Whether a size (`512MB`) is meant: the schema says so only in the choice's description. */
function isSize(node: Node): boolean {
  return withoutNull(node.anyOf ?? []).some((c) => /\bA size such as\b/.test(c.description ?? ''));
}

const DEFAULT_IN_TEXT = /\s*\(default:? ([^)]+)\)|;\s*default:? ([^)]+)(?=\))/;

/** The description without its "(default X)", and X. */
function splitDefault(text: string): { description: string; fallback: string | undefined } {
  const match = DEFAULT_IN_TEXT.exec(text);
  if (!match) return { description: text, fallback: undefined };
  const fallback = (match[1] ?? match[2] ?? '').trim();
  return { description: text.replace(match[0], ''), fallback };
}

/** A table cell: no line breaks, no pipes that would end the cell. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/(?<!\\)\|/g, '\\|');
}

/** Schema text as Markdown text: `<name>` is not an HTML tag, `*` is not emphasis. */
function plain(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\*/g, '\\*');
}

function codeSpan(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Where a key without a default of its own takes its value from, when a wider object has it. */
type Inherits = (key: string) => string | undefined;

function keyRow(
  key: string,
  node: Node,
  required: boolean,
  context: { defs: Readonly<Record<string, Node>>; inherits: Inherits },
): string {
  let type = typeOf(node, context.defs);
  if (isSize(node)) type = type.replace(/integer >= 0 \\| string|string \\| integer >= 0/, 'size');
  const text = descriptionOf(node);
  // A key without a description of its own holds one of the config's objects: its title says it.
  const objectTitle = /\[([^\]]+)\]/.exec(type)?.[1];
  const { description, fallback } = text
    ? splitDefault(plain(text))
    : { description: objectTitle ?? '', fallback: undefined };
  const inherited = context.inherits(key);
  const defaultValue =
    node.default !== undefined
      ? literal(node.default)
      : (inherited ?? fallback ?? (type === 'boolean' ? '`false`' : ''));
  const cells = [
    codeSpan(key),
    cell(type),
    required ? 'yes' : '',
    cell(defaultValue),
    cell(description.replace(/([^.])\.$/, '$1')),
  ];
  return `| ${cells.join(' | ')} |`;
}

function objectTable(
  node: Node,
  defs: Readonly<Record<string, Node>>,
  inherits: Inherits = () => undefined,
): string {
  const required = new Set(node.required ?? []);
  const rows = Object.entries(node.properties ?? {}).map(([key, value]) =>
    keyRow(key, value, required.has(key), { defs, inherits }),
  );
  return [
    '| key | type | required | default | description |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The generated reference: the top level, then each object of the config in schema order. */
export function configReferenceMarkdown(): string {
  const schema = configJsonSchema() as Node & { $defs?: Record<string, Node> };
  const defs = schema.$defs ?? {};
  // A target's setting that the run's options also have overrides them; a table's, its target's.
  const has = (def: string, key: string): boolean =>
    Object.hasOwn(defs[def]?.properties ?? {}, key);
  const inheritance: Readonly<Record<string, Inherits>> = {
    target: (key) => (has('options', key) ? `\`options.${key}\`` : undefined),
    table: (key) => {
      if (has('target', key) && has('options', key)) {
        return `the target's \`${key}\`, else \`options.${key}\``;
      }
      return has('options', key) ? `\`options.${key}\`` : undefined;
    },
  };
  const sections = [`### Top level\n\n${objectTable(schema, defs)}`];
  for (const [name, def] of Object.entries(defs)) {
    sections.push(`### ${defTitle(defs, name)}\n\n${objectTable(def, defs, inheritance[name])}`);
  }
  return sections.join('\n\n');
}

/** `page` with the text between its markers replaced by `section`. */
export function replaceGeneratedSection(page: string, section: string): string {
  const begin = page.indexOf(CONFIG_DOCS_BEGIN);
  const end = page.indexOf(CONFIG_DOCS_END);
  if (begin === -1 || end < begin) {
    throw new Error(`the page has no ${CONFIG_DOCS_BEGIN} ... ${CONFIG_DOCS_END} markers`);
  }
  return `${page.slice(0, begin + CONFIG_DOCS_BEGIN.length)}\n\n${section}\n\n${page.slice(end)}`;
}

/** The text between the markers, as the page holds it. */
export function generatedSectionOf(page: string): string | undefined {
  const begin = page.indexOf(CONFIG_DOCS_BEGIN);
  const end = page.indexOf(CONFIG_DOCS_END);
  if (begin === -1 || end < begin) return undefined;
  return page.slice(begin + CONFIG_DOCS_BEGIN.length, end).trim();
}
