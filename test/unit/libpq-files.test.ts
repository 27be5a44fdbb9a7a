import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closest } from '../../src/config/closest.js';
import { ConfigError } from '../../src/errors.js';
import { parseServiceFile, readService } from '../../src/libpq/pg-service.js';
import { matchPgpass, parsePgpass, readPgpass } from '../../src/libpq/pgpass.js';
import { starterConfig } from '../../src/init/starter-config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgcopy-libpq-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const key = { host: 'db:1', port: 5432, database: 'app', user: 'me' };

describe('password file lines as libpq reads them', () => {
  it('\\: and \\\\ are escapes; comments, blank and short lines are skipped; a trailing \\ is kept', () => {
    const entries = parsePgpass(
      ['# comment', '', 'short:line', 'db\\:1:5432:app:me:pa\\:ss\\\\word\\', '*:*:*:*:other'].join(
        '\n',
      ),
    );
    expect(matchPgpass(entries, key)).toBe('pa:ss\\word\\');
    expect(matchPgpass(entries, { ...key, host: 'elsewhere' })).toBe('other');
    expect(matchPgpass([], key)).toBeUndefined();
  });

  it('no HOME and no PGPASSFILE: no file; an unreadable one is a config error naming it', async () => {
    expect(await readPgpass({})).toBeUndefined();
    expect(await readPgpass({ PGPASSFILE: '' })).toBeUndefined();
    expect(await readPgpass({ PGPASSFILE: join(dir, 'missing') })).toBeUndefined();
    const sub = join(dir, 'a-directory');
    await mkdir(sub);
    await expect(readPgpass({ PGPASSFILE: sub })).rejects.toThrow(
      new ConfigError(`password file: cannot read ${sub} (it is a directory, not a regular file)`),
    );
  });
});

describe('pg_service.conf as libpq reads it', () => {
  it('keys before any section are ignored; the last section of a name wins; = in values is kept', () => {
    const sections = parseServiceFile(
      'host=ignored\n[a]\n host = h1 \nnot a setting\n[b]\noptions=-c x=1\n[a]\nhost=h2\n',
    );
    expect(sections.get('a')?.get('host')).toBe('h2');
    expect(sections.get('b')?.get('options')).toBe('-c x=1');
  });

  it('empty values are unset; sslrootcert and sslmode are read; a bad sslmode names the section', async () => {
    const file = join(dir, 'svc.conf');
    await writeFile(
      file,
      '[s]\nhost=\nuser=me\nsslmode=verify-full\nsslrootcert=/ca.pem\n[bad]\nsslmode=allow\n',
    );
    expect(await readService('source.service', 's', { PGSERVICEFILE: file })).toEqual({
      user: 'me',
      sslmode: 'verify-full',
      sslrootcert: '/ca.pem',
    });
    await expect(readService('source.service', 'bad', { PGSERVICEFILE: file })).rejects.toThrow(
      `${file} [bad]: sslmode: expected one of disable, prefer, require, verify-ca, verify-full, got "allow"`,
    );
    await expect(readService('source.service', 's', {})).rejects.toThrow(
      'source.service: service "s" not found in no file (set PGSERVICEFILE or HOME)',
    );
  });
});

describe('did you mean', () => {
  it('suggests a near key (transpositions and case count once), nothing for a far one', () => {
    expect(closest('targts', ['source', 'targets'])).toBe('targets');
    expect(closest('hots', ['host', 'port'])).toBe('host');
    expect(closest('SSLMODE', ['sslmode'])).toBe('sslmode');
    expect(closest('zz_unknown', ['source', 'targets'])).toBeUndefined();
    expect(closest('x', [])).toBeUndefined();
  });
});

describe('starter config', () => {
  it('writes only the fields a URL gave, and says when no table is shared', () => {
    const text = starterConfig(
      {
        name: 'source',
        url: { host: 'h', sslrootcert: '/ca.pem' },
        schema: 's',
        tables: new Map(),
      },
      [{ name: 'db_1', url: {}, schema: 's', tables: new Map([['t', ['a']]]) }],
      './pgcopy.schema.json',
    );
    expect(text).toBe(
      [
        '# yaml-language-server: $schema=./pgcopy.schema.json',
        '# pgcopy configuration, written by `pgcopy init`: review it, then `pgcopy plan`.',
        '# Reference: docs/configuration.md.',
        'source:',
        '  host: "h"',
        '  # password: ${PGCOPY_SOURCE_PASSWORD} # or ~/.pgpass, or a secret',
        '  sslrootcert: "/ca.pem"',
        '  schema: "s"',
        'targets:',
        '  - name: "db_1"',
        '    # password: ${PGCOPY_DB_1_PASSWORD} # or ~/.pgpass, or a secret',
        '    schema: "s"',
        '    tables: [] # no table in common yet: list some, or a pattern such as "*"',
        '    # only in this target (left alone): "t"',
        'options:',
        '  mode: append # append | truncate | upsert | insert-new',
        '',
      ].join('\n'),
    );
  });
});
