/** A statement that changes a table's rows, as a trigger function's source writes it. */
/** EXECUTE: dynamic SQL handed a planned table's name as a string (`inc_ref_count('artist_credit', …)`). */
export type WriteStatement = 'INSERT' | 'UPDATE' | 'DELETE' | 'MERGE' | 'TRUNCATE' | 'EXECUTE';

/** A planned table a trigger function's own statements write into. */
export interface TableWrite {
  readonly table: string;
  readonly statements: readonly WriteStatement[];
}

interface Token {
  /** An unquoted word folded to lower case, a quoted identifier as written, or one punctuation character. */
  readonly text: string;
  readonly quoted: boolean;
  readonly word: boolean;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
/** `$$` or `$tag$` (a tag never starts with a digit: `$1` is a parameter), one quantifier deep. */
const DOLLAR_TAG = /^\$(?![0-9])[A-Za-z0-9_\u0080-\uffff]*\$/;

/** The end of a quoted run starting at `start` (the opening quote), `''`-style doubling escaping it. */
function endOfQuoted(src: string, start: number, quote: string, backslash: boolean): number {
  let i = start + 1;
  while (i < src.length) {
    const c = src[i];
    if (backslash && c === '\\') i += 2;
    else if (c === quote && src[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i += 1;
  }
  return src.length;
}

function endOfBlockComment(src: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < src.length) {
    if (src.startsWith('/*', i)) {
      depth += 1;
      i += 2;
    } else if (src.startsWith('*/', i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return src.length;
}

/**
 * The words and punctuation of SQL or PL/pgSQL source, without comments and string literals
 * (quoted, E'' escaped and dollar-quoted). Quoted identifiers are kept, as written.
 */
export function sqlTokens(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) i += 1;
    else if (src.startsWith('--', i)) {
      const eol = src.indexOf('\n', i);
      i = eol < 0 ? src.length : eol + 1;
    } else if (src.startsWith('/*', i)) i = endOfBlockComment(src, i);
    else if (c === "'") i = endOfQuoted(src, i, "'", false);
    else if (c === '"') {
      const end = endOfQuoted(src, i, '"', false);
      tokens.push({
        text: src.slice(i + 1, end - 1).replaceAll('""', '"'),
        quoted: true,
        word: true,
      });
      i = end;
    } else if (c === '$' && DOLLAR_TAG.test(src.slice(i, i + 64))) {
      const tag = (DOLLAR_TAG.exec(src.slice(i, i + 64)) as RegExpExecArray)[0];
      const close = src.indexOf(tag, i + tag.length);
      i = close < 0 ? src.length : close + tag.length;
    } else if (WORD_START.test(c)) {
      let end = i + 1;
      while (end < src.length && WORD_PART.test(src[end] as string)) end += 1;
      const word = src.slice(i, end).toLowerCase();
      // E'...' is a string with backslash escapes.
      if (word === 'e' && src[end] === "'") i = endOfQuoted(src, end, "'", true);
      else {
        tokens.push({ text: word, quoted: false, word: true });
        i = end;
      }
    } else {
      tokens.push({ text: c, quoted: false, word: false });
      i += 1;
    }
  }
  return tokens;
}

const isKeyword = (t: Token | undefined, word: string): boolean =>
  t !== undefined && t.word && !t.quoted && t.text === word;

/** Reads `[schema.]name` from `at`: the name, its schema when written, and where it ends. */
function relationAt(
  tokens: readonly Token[],
  at: number,
): { schema?: string; name: string; end: number } | undefined {
  const parts: string[] = [];
  let i = at;
  for (;;) {
    const t = tokens[i];
    if (!t?.word) return undefined;
    parts.push(t.text);
    i += 1;
    if (tokens[i]?.text !== '.' || tokens[i]?.word) break;
    i += 1;
  }
  const name = parts[parts.length - 1] as string;
  const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
  return { ...(schema === undefined ? {} : { schema }), name, end: i };
}

/** `FOR [NO KEY] UPDATE` locks rows, `ON CONFLICT DO UPDATE` belongs to an INSERT. */
const LOCKING_OR_CONFLICT = ['for', 'key', 'do'];

/** The statements writing rows, each followed by the tables it writes: `INSERT INTO t`, `TRUNCATE a, b`. */
function writtenRelations(
  tokens: readonly Token[],
): { statement: WriteStatement; schema?: string; name: string }[] {
  const found: { statement: WriteStatement; schema?: string; name: string }[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    let statement: WriteStatement | undefined;
    let at = i + 1;
    if (isKeyword(t, 'insert') && isKeyword(tokens[i + 1], 'into')) statement = 'INSERT';
    else if (isKeyword(t, 'merge') && isKeyword(tokens[i + 1], 'into')) statement = 'MERGE';
    else if (isKeyword(t, 'delete') && isKeyword(tokens[i + 1], 'from')) statement = 'DELETE';
    else if (
      isKeyword(t, 'update') &&
      !LOCKING_OR_CONFLICT.some((w) => isKeyword(tokens[i - 1], w))
    ) {
      statement = 'UPDATE';
      at = i;
    } else if (isKeyword(t, 'truncate')) {
      statement = 'TRUNCATE';
      at = i;
      if (isKeyword(tokens[at + 1], 'table')) at += 1;
    }
    if (statement === undefined) continue;
    // TRUNCATE takes a list; the others one table.
    for (;;) {
      let start = at + 1;
      if (isKeyword(tokens[start], 'only')) start += 1;
      const relation = relationAt(tokens, start);
      if (!relation) break;
      found.push({ statement, ...relation });
      if (statement !== 'TRUNCATE' || tokens[relation.end]?.text !== ',') break;
      at = relation.end;
    }
  }
  return found;
}

/**
 * The planned tables (`names`, of schema `schema`) that a PL/pgSQL function's source writes into
 * by its own statements: INSERT INTO, UPDATE, DELETE FROM, MERGE INTO or TRUNCATE followed by the
 * table, optionally ONLY, optionally schema-qualified, optionally quoted. A qualified name counts
 * when its schema is the planned one; an unqualified name is taken to be the planned table of that
 * name (the trigger fires on a table of that schema, and pgcopy cannot resolve the function's
 * search_path at run time). Comments and string literals are left out, so dynamic SQL (EXECUTE)
 * is not read (see `runsDynamicSql`); the functions it calls are read by the caller.
 */
export function tablesWritten(src: string, schema: string, names: readonly string[]): TableWrite[] {
  const planned = new Set(names);
  const byTable = new Map<string, Set<WriteStatement>>();
  for (const w of writtenRelations(sqlTokens(src))) {
    if (w.schema !== undefined && w.schema !== schema) continue;
    if (!planned.has(w.name)) continue;
    const statements = byTable.get(w.name) ?? new Set<WriteStatement>();
    statements.add(w.statement);
    byTable.set(w.name, statements);
  }
  return [...byTable]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([table, statements]) => ({ table, statements: [...statements] }));
}

/**
 * The planned tables whose name is a whole string literal of the source (`'artist_credit'` or
 * `'schema.artist_credit'`): where the source runs dynamic SQL, such a name is the table it is
 * most likely to write (MusicBrainz's `inc_ref_count('artist_credit', …)` updates it through
 * EXECUTE). Read only where runsDynamicSql says the source has EXECUTE.
 */
export function tablesNamedInLiterals(
  src: string,
  schema: string,
  names: readonly string[],
): TableWrite[] {
  const planned = new Set(names);
  const found = new Set<string>();
  for (const match of src.matchAll(/'([^'\n]{1,127})'/g)) {
    const text = match[1] ?? '';
    const dot = text.lastIndexOf('.');
    const name = dot < 0 ? text : text.slice(dot + 1);
    if (dot >= 0 && text.slice(0, dot) !== schema) continue;
    if (planned.has(name)) found.add(name);
  }
  return [...found].sort().map((table) => ({ table, statements: ['EXECUTE'] }));
}

/** The PL/pgSQL source runs dynamic SQL (EXECUTE), whose tables its text does not show. */
export function runsDynamicSql(src: string): boolean {
  return sqlTokens(src).some((t) => isKeyword(t, 'execute'));
}

/** A function a PL/pgSQL source calls by name (`f(`, `s.f(`), its schema when written. */
export interface FunctionCall {
  readonly schema?: string;
  readonly name: string;
}

/** The names the source calls as functions: a word (optionally schema-qualified) before `(`. */
export function functionsCalled(src: string): FunctionCall[] {
  const tokens = sqlTokens(src);
  const found: FunctionCall[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i] as Token;
    if (!t.word || tokens[i + 1]?.text !== '(' || tokens[i + 1]?.word) continue;
    const dot = tokens[i - 1];
    const schema = dot?.text === '.' && !dot.word ? tokens[i - 2] : undefined;
    found.push(schema?.word ? { schema: schema.text, name: t.text } : { name: t.text });
  }
  return found;
}
