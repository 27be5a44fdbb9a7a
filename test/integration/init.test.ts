import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { servers, sql, uniqueName, urlOf } from '../support/db.js';

const s = servers();
const schema = uniqueName('Init');
const q = `"${schema}"`;
const url = (server: typeof s.source): string => `${urlOf(server)}?sslmode=disable`;

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.orders (id int, total numeric, note text);
     CREATE TABLE ${q}."Line Items" (id int);
     CREATE TABLE ${q}.audit (id int);`,
  );
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.orders (id int, total numeric, loaded_at timestamptz DEFAULT now());
     CREATE TABLE ${q}."Line Items" (id int);
     CREATE TABLE ${q}.local_only (id int);`,
  );
  await sql(s.target2, `CREATE SCHEMA ${q}`);
});

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('pgcopy init writes a commented starter config (bug: nothing helped write the YAML)', () => {
  it('lists the shared tables and each target’s differences, never a password; plan then reads it', async () => {
    const w = await workDir('');
    try {
      const args = ['init', '--source', url(s.source), '--target', url(s.target1)];
      const refused = await cli([...args, '--schema', schema], { cwd: w.dir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toBe(`pgcopy: --output: cannot write ${w.file} (it already exists)\n`);

      const out = join(w.dir, 'starter.yaml');
      const result = await cli(
        [...args, '--target', url(s.target2), '--schema', schema, '-o', 'starter.yaml'],
        { cwd: w.dir },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Wrote ${out}`);
      expect(result.stdout).toContain(
        'Passwords are not written: set PGCOPY_SOURCE_PASSWORD, PGCOPY_DB_1_PASSWORD, PGCOPY_DB_2_PASSWORD',
      );
      const text = await readFile(out, 'utf8');
      expect(text).not.toContain(s.source.password);
      // The editor schema line points at the package's schema file, relative to the config.
      const schemaLine = /^# yaml-language-server: \$schema=(.+)\n/.exec(text);
      expect(JSON.parse(await readFile(join(w.dir, schemaLine?.[1] ?? ''), 'utf8'))).toMatchObject({
        title: 'pgcopy configuration',
      });
      expect(text).toContain(
        '    tables: # shared with the source (2)\n      - "Line Items"\n      - "orders"\n',
      );
      expect(text).toContain('# only in the source (not copied): "audit"');
      expect(text).toContain('# only in this target (left alone): "local_only"');
      expect(text).toContain('# "orders": source-only columns, skipped: "note"');
      expect(text).toContain(
        '# "orders": target-only columns, left to their defaults: "loaded_at"',
      );
      expect(text).toContain('tables: [] # no table in common yet');

      // The file is a config: with the second target given a table, plan reads it.
      await writeFile(out, text.replace('tables: [] #', 'tables: ["*"] #'));
      const env = {
        PGCOPY_SOURCE_PASSWORD: s.source.password,
        PGCOPY_DB_1_PASSWORD: s.target1.password,
        PGCOPY_DB_2_PASSWORD: s.target2.password,
      };
      const plan = await cli(['plan', '-c', out], { cwd: w.dir, env });
      expect(plan.stderr).toBe('');
      expect(plan.stdout).toContain('Target db_1');
      expect(plan.stdout).toContain('Target db_2: pattern * matched Line Items, audit, orders');
    } finally {
      await w.cleanup();
    }
  });

  it('bug: URL settings other than sslmode and sslrootcert were dropped; the starter config keeps them, never the key passphrase', async () => {
    const w = await workDir('');
    try {
      const withSettings =
        `${url(s.source)}&connect_timeout=7&application_name=nightly` +
        '&sslcert=%2Fetc%2Fpgcopy%2Fc.crt&sslkey=%2Fetc%2Fpgcopy%2Fc.key&sslpassword=key-secret-93';
      // sslmode=disable: the certificate files are not read, so they need not exist here.
      const result = await cli(
        [
          'init',
          '--source',
          withSettings,
          '--target',
          url(s.target1),
          '--schema',
          schema,
          '-o',
          'out.yaml',
        ],
        { cwd: w.dir },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        'Key passphrases are not written: set PGCOPY_SOURCE_SSLPASSWORD.',
      );
      const text = await readFile(join(w.dir, 'out.yaml'), 'utf8');
      expect(text).not.toContain('key-secret-93');
      expect(text).toContain(
        [
          '  sslcert: "/etc/pgcopy/c.crt"',
          '  sslkey: "/etc/pgcopy/c.key"',
          '  sslpassword: ${PGCOPY_SOURCE_SSLPASSWORD} # set it in the environment',
          '  connectTimeout: 7',
          '  applicationName: "nightly"',
        ].join('\n'),
      );
    } finally {
      await w.cleanup();
    }
  });

  it('without --source or --target: usage, exit 2', async () => {
    const result = await cli(['init', '--source', url(s.source)]);
    expect(result).toMatchObject({
      code: 2,
      stderr:
        'pgcopy: usage: pgcopy init --source URL --target URL [--target URL]... [--schema NAME] [-o FILE]\n',
    });
  });
});
