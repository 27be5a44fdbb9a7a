import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers } from '../support/db.js';

/** mulberry32: a small seeded generator, so that every failing case can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 20261126;
const MUTATIONS = 1_000;

const VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  '',
  ' ',
  'x'.repeat(100_000),
  'ünïcödé 🐘',
  '\u202e\u0000',
  `x"; DROP TABLE y; --`,
  `'; SELECT pg_sleep(10); --`,
  '${HOME}',
  '${env:PGCOPY_NOPE}',
  [],
  [1, 'a'],
  {},
  { nested: { deep: [1] } },
  'append',
  'fdw-push',
  '2s',
  '-5min',
  '99999999999999999999',
];

type Json = Record<string, unknown>;

function baseConfig(): Json {
  const s = servers();
  return {
    source: endpointOf(s.source, 'fuzz_missing'),
    targets: [
      {
        name: 'db_1',
        ...endpointOf(s.target1, 'fuzz_missing'),
        tables: ['t', { name: 'u', target: 'v', where: 'id > 0', mode: 'upsert' }],
        lockTimeout: '1s',
      },
    ],
    options: { mode: 'truncate', concurrency: 2, retries: 1, onSnapshotLoss: 'fail' },
  };
}

/** Every path to a value in the document (objects and arrays), the root excluded. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value as Json);
  return entries.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function parentOf(doc: unknown, path: (string | number)[]): Json | unknown[] | undefined {
  let node: unknown = doc;
  for (const key of path.slice(0, -1)) node = (node as Json)[key as string];
  return typeof node === 'object' && node !== null ? (node as Json) : undefined;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** One random change: a wrong or extreme value, a missing key, an unknown key, or YAML aliases. */
function mutate(random: () => number): { text: string; what: string } {
  const doc = baseConfig();
  const path = pick(random, paths(doc));
  const parent = parentOf(doc, path);
  const key = path[path.length - 1] as string;
  const kind = Math.floor(random() * 4);
  if (kind === 3) {
    // Aliases: one anchored value reused where another value was.
    const text = stringify(doc).replace(/^options:/m, 'shared: &shared {mode: append}\noptions:');
    return { text: text.replace(/^( +)mode: truncate$/m, '$1mode: *shared'), what: 'alias' };
  }
  if (kind === 0 && parent) {
    (parent as Json)[key] = pick(random, VALUES);
    return { text: stringify(doc), what: `set ${path.join('.')}` };
  }
  if (kind === 1 && parent) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else Reflect.deleteProperty(parent, key);
    return { text: stringify(doc), what: `delete ${path.join('.')}` };
  }
  const target = parent && !Array.isArray(parent) ? parent : doc;
  target[`unknown_${Math.floor(random() * 1000)}`] = pick(random, VALUES);
  return { text: stringify(doc), what: `unknown key under ${path.slice(0, -1).join('.')}` };
}

describe('config fuzz', () => {
  it(`${MUTATIONS} seeded mutations of a valid config: each is a ConfigError naming a key, or a config that plans`, async () => {
    const random = seeded(SEED);
    const valid: string[] = [];
    for (let i = 0; i < MUTATIONS; i += 1) {
      const { text, what } = mutate(random);
      try {
        parseConfig(text, {}, 'pgcopy.yaml');
        valid.push(text);
      } catch (error) {
        if (!(error instanceof ConfigError)) {
          throw new Error(`mutation ${i} (${what}, seed ${SEED}) threw ${String(error)}`);
        }
        // The message names where: a key path (source.port, targets[0].tables[1].where) or the file.
        expect(error.message, `mutation ${i}: ${what}`).toMatch(
          /(^|\W)(source|targets|options|secrets|shared|unknown_\d+|pgcopy\.yaml)\b/,
        );
      }
    }
    expect(valid.length).toBeGreaterThan(0);
    // The configs that pass validation plan (exit 0 or 1), never crash or hang: a sample of them.
    const work = await workDir('');
    try {
      for (const [i, text] of valid.slice(0, 30).entries()) {
        const file = `${work.dir}/valid-${i}.yaml`;
        await writeFile(file, text);
        const out = await cli(['plan', '-c', file], {
          cwd: work.dir,
          signal: AbortSignal.timeout(20_000),
        });
        expect([0, 1, 2], `${text}\n${out.stderr}`).toContain(out.code);
      }
    } finally {
      await work.cleanup();
    }
  }, 180_000);
});
