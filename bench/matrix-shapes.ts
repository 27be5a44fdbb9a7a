/**
 * The table shapes of the performance matrix: each a column list and the SELECT that generates its
 * rows on the source (ids `from` to `to`), so that every server builds the same rows by itself.
 */
export interface Shape {
  /** The table's name, and the shape's in the printed tables. */
  readonly name: string;
  readonly description: string;
  readonly columns: string;
  /** The rows with ids `from` to `to`. */
  readonly select: (from: number, to: number) => string;
  /** A table partitioned by range of `id`, in four partitions over the ids 1 to `rows`. */
  readonly partitioned?: boolean;
}

const series = (from: number, to: number): string =>
  `FROM generate_series(${from}::bigint, ${to}) g`;

/** The mixed table of the performance issue: bigint key, timestamptz, text of 32-96 characters, numeric(12,2), jsonb, boolean, integer. */
export const MIXED: Shape = {
  name: 'mixed',
  description: 'bigint, timestamptz, text 32-96 chars, numeric(12,2), jsonb, boolean, integer',
  columns:
    'id bigint, at timestamptz, label text, amount numeric(12,2), doc jsonb, flag boolean, n integer',
  select: (from, to) =>
    `SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
       substr(repeat(md5(g::text), 3), 1, 32 + (g % 65)::int), (g % 10000000) / 100.0,
       jsonb_build_object('id', g, 'kind', 'k' || g % 17, 'tags', jsonb_build_array('a' || g % 10, 'b' || g % 7),
                          'score', (g % 1000) / 10.0, 'ok', g % 2 = 0),
       g % 2 = 0, ((g * 31) % 100000)::int ${series(from, to)}`,
};

const wideText = Array.from({ length: 8 }, (_, i) => i + 1);

export const SHAPES: readonly Shape[] = [
  {
    name: 'narrow',
    description: 'bigint and four integers',
    columns: 'id bigint, a integer, b integer, c integer, d smallint',
    select: (from, to) =>
      `SELECT g, (g % 1000)::int, ((g * 7919) % 1000003)::int, (-g)::int, (g % 32000)::smallint ${series(from, to)}`,
  },
  MIXED,
  {
    name: 'wide_text',
    description: 'bigint and eight text columns of 40-127 chars',
    columns: `id bigint, ${wideText.map((i) => `t${i} text`).join(', ')}`,
    select: (from, to) =>
      `SELECT g, ${wideText
        .map((i) => `substr(repeat(md5(g::text || '${i}'), 4), 1, 40 + ((g * ${i}) % 88)::int)`)
        .join(', ')} ${series(from, to)}`,
  },
  {
    name: 'bytea',
    description: 'bigint and bytea of 1-100 KB (incompressible)',
    columns: 'id bigint, payload bytea',
    // 16 bytes per md5: 64 of them per KB, pseudo-random so that TOAST cannot compress them.
    select: (from, to) =>
      `SELECT g, (SELECT decode(string_agg(md5(g::text || ':' || i::text), ''), 'hex')
                    FROM generate_series(1, 64 * (1 + (g * 37) % 100)::int) i) ${series(from, to)}`,
  },
  {
    name: 'numeric',
    description: 'bigint and seven numeric columns',
    columns:
      'id bigint, n1 numeric(18,4), n2 numeric(12,2), n3 numeric, n4 numeric(20,10), n5 numeric(10,0), n6 numeric(8,3), n7 numeric',
    select: (from, to) =>
      `SELECT g, g * 1.2345, (g % 1000000) / 100.0, g::numeric / 7, (g % 1000)::numeric / 3, g * 13,
              (g % 10000) / 1000.0, -(g::numeric * g) / 11 ${series(from, to)}`,
  },
  {
    name: 'partitioned',
    description: 'the mixed columns without jsonb, range-partitioned on id in 4 partitions',
    columns: 'id bigint, at timestamptz, label text, amount numeric(12,2), flag boolean, n integer',
    partitioned: true,
    select: (from, to) =>
      `SELECT g, '2026-01-01'::timestamptz + g * interval '1 second',
       substr(repeat(md5(g::text), 3), 1, 32 + (g % 65)::int), (g % 10000000) / 100.0,
       g % 2 = 0, ((g * 31) % 100000)::int ${series(from, to)}`,
  },
];

/** CREATE TABLE for a shape in schema `q` (quoted), with its partitions over ids 1 to `rows`. */
export function createTable(q: string, shape: Shape, rows: number, name = shape.name): string {
  if (!shape.partitioned) return `CREATE TABLE ${q}.${name} (${shape.columns});`;
  const bound = (i: number): string => String(Math.floor((rows * i) / 4) + 1);
  const bounds = ['MINVALUE', bound(1), bound(2), bound(3), 'MAXVALUE'];
  const parts = [1, 2, 3, 4].map(
    (i) =>
      `CREATE TABLE ${q}.${name}_${i} PARTITION OF ${q}.${name} FOR VALUES FROM (${bounds[i - 1]}) TO (${bounds[i]});`,
  );
  return [`CREATE TABLE ${q}.${name} (${shape.columns}) PARTITION BY RANGE (id);`, ...parts].join(
    '\n',
  );
}

/** The names of a shape's table and its partitions (what a filter by table name must list). */
export function tableNames(shape: Shape, name = shape.name): string[] {
  return shape.partitioned ? [name, ...[1, 2, 3, 4].map((i) => `${name}_${i}`)] : [name];
}
