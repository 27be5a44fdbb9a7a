import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printable, printableJson } from '../../src/report/printable.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Printable');
const q = `"${schema}"`;
const s = servers();
const cleanups: (() => Promise<void>)[] = [];

/** A row value that, written raw, would forge an audit line and clear a terminal. */
const FORGED = 'x\n2026-11-24 07:23:00 ✅ Done: db_1.forged rows=1\x1b[2J\u2028';
/** A table whose name carries an escape code (CSI, 8-bit C1 form too) and a newline. */
const EVIL_TABLE = 'evil\x1b[31m\x9b2J\nname';
const ESC = String.fromCharCode(0x1b);
/** Any control character but the newlines and tabs of the output itself. */
const RAW = /(?![\n\t])[\p{Cc}\u2028\u2029]/u;

async function setup(config: unknown): Promise<{ dir: string; file: string }> {
  const w = await workDir(config);
  cleanups.push(w.cleanup);
  return w;
}

function rawConfig(tables: unknown[]): unknown {
  return {
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
    options: { logDir: 'logs' },
  };
}

beforeAll(async () => {
  const ddl = `CREATE SCHEMA ${q};
    CREATE TABLE ${q}.dup (k text PRIMARY KEY);
    CREATE TABLE ${q}."${EVIL_TABLE}" (id int, only_source int);`;
  await sql(s.source, ddl);
  await sql(s.target1, ddl.replace(', only_source int', ''));
  await sql(s.source, `INSERT INTO ${q}.dup VALUES ($1)`, [FORGED]);
  await sql(s.target1, `INSERT INTO ${q}.dup VALUES ($1)`, [FORGED]);
});

afterAll(async () => {
  for (const c of cleanups) await c();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('text from a database or a config is escaped wherever it is printed or logged', () => {
  it('a row value in a duplicate-key detail cannot forge an audit line or reach the terminal raw', async () => {
    const { dir, file } = await setup(rawConfig(['dup', EVIL_TABLE]));
    const result = await cli(['run', '-c', file], { cwd: dir });
    expect(result.code).toBe(1);
    const [name] = await readdir(join(dir, 'logs'));
    const log = await readFile(join(dir, 'logs', name ?? ''), 'utf8');
    // Every line of the audit log is one of pgcopy's own: the forged one is not a line.
    expect(log).not.toMatch(/^2026-11-24 07:23:00 ✅ Done: db_1\.forged/m);
    expect(log).toContain('already exists.) [COPY dup, line 1]');
    expect(log).toContain(
      String.raw`Key (k)=(x\n2026-11-24 07:23:00 ✅ Done: db_1.forged rows=1\x1b[2J\u2028) already exists.`,
    );
    expect(log).toContain(String.raw`db_1.evil\x1b[31m\x9b2J\nname`);
    for (const text of [log, result.stdout, result.stderr]) {
      expect(text).not.toMatch(RAW);
      expect(text).not.toContain('\n2026-11-24 07:23:00 ✅ Done: db_1.forged');
    }
    // Terminal summary and non-TTY progress: escaped too.
    expect(result.stdout).toContain(String.raw`evil\x1b[31m\x9b2J\nname`);
    expect(result.stdout).toContain(String.raw`Key (k)=(x\n2026-11-24`);
    expect(result.stderr).toContain(String.raw`started db_1.evil\x1b[31m\x9b2J\nname`);
  });

  it('a TTY progress block escapes names too', async () => {
    const { dir, file } = await setup(rawConfig([EVIL_TABLE]));
    const result = await cli(['run', '-c', file, '--mode', 'truncate'], { cwd: dir, tty: true });
    expect(result.code).toBe(0);
    // The renderer's own cursor controls stay; the name's do not reach the terminal.
    const ownCursorMoves = new RegExp(`${ESC}\\[\\d+A${ESC}\\[0J`, 'g');
    expect(result.stderr.replace(ownCursorMoves, '')).not.toMatch(RAW);
    expect(result.stderr).toContain(String.raw`evil\x1b[31m\x9b2J\nname`);
  });

  it('plan text, plan --json, check and stderr messages escape names and server text', async () => {
    const { dir, file } = await setup(rawConfig([EVIL_TABLE, 'missing\x1b]0;title\x07']));
    const planned = await cli(['plan', '-c', file], { cwd: dir });
    expect(planned.code).toBe(1);
    expect(planned.stdout).not.toMatch(RAW);
    expect(planned.stdout).toContain(String.raw`✖ missing\x1b]0;title\x07: source table`);
    expect(planned.stdout).toContain(String.raw`⚠ evil\x1b[31m\x9b2J\nname: source-only columns`);

    const json = await cli(['plan', '-c', file, '--json'], { cwd: dir });
    expect(json.stdout).not.toMatch(RAW);
    const parsed = JSON.parse(json.stdout) as { targets: { tables: { target: string }[] }[] };
    expect(parsed.targets[0]?.tables[0]?.target).toBe(EVIL_TABLE); // lossless

    const checked = await cli(['check', '-c', file], { cwd: dir });
    expect(checked.code).toBe(1);
    expect(checked.stdout).not.toMatch(RAW);
    expect(checked.stdout).toContain(String.raw`missing\x1b]0;title\x07`);

    const unknown = await cli(['plan', '-c', file, '--target', 'no\x1b[2Jpe'], { cwd: dir });
    expect(unknown.stderr).toBe(
      String.raw`pgcopy: --target: no target named "no\x1b[2Jpe" (targets: db_1)` + '\n',
    );
  });

  it('printable and printableJson escape every control character and keep the rest', () => {
    expect(printable('a\tb\r\n\x00\x7f\x9b\u2028\u202e✅ ok')).toBe(
      String.raw`a\tb\r\n\x00\x7f\x9b\u2028\u202e✅ ok`,
    );
    const value = { s: 'a\nb\x9b\u2029\u2066' };
    expect(printableJson(value)).not.toMatch(RAW);
    expect(JSON.parse(printableJson(value))).toEqual(value);
  });
});
