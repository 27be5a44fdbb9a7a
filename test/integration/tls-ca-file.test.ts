import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const s = servers();
const schema = uniqueName('ca_file');
const q = `"${schema}"`;
let work: Awaited<ReturnType<typeof workDir>>;

beforeAll(async () => {
  for (const server of [s.source, s.target1]) {
    await sql(server, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  }
  work = await workDir({});
  await writeFile(join(work.dir, 'empty.pem'), '');
  await writeFile(join(work.dir, 'garbage.pem'), 'this is not a certificate\n');
  await writeFile(
    join(work.dir, 'broken.pem'),
    '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
  );
  await mkdir(join(work.dir, 'a-directory'));
});

afterAll(async () => {
  await work.cleanup();
  for (const server of [s.source, s.target1]) await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('sslrootcert of a target is checked as configuration, like the source', () => {
  it.each([
    ['missing', 'missing.pem', 'cannot read {dir}/missing.pem (ENOENT)'],
    [
      'a directory',
      'a-directory',
      'cannot read {dir}/a-directory (it is a directory, not a regular file)',
    ],
    [
      'empty',
      'empty.pem',
      '{dir}/empty.pem holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)',
    ],
    [
      'garbage',
      'garbage.pem',
      '{dir}/garbage.pem holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)',
    ],
    [
      'a broken PEM block',
      'broken.pem',
      '{dir}/broken.pem: certificate 1 cannot be read (not valid PEM)',
    ],
  ])(
    '%s sslrootcert on a verify-full target is a config error (exit 2) naming the file',
    async (_what, file, message) => {
      for (const sslmode of ['verify-full', 'verify-ca'] as const) {
        await writeFile(
          work.file,
          JSON.stringify({
            source: endpointOf(s.source, schema),
            targets: [
              {
                name: 'db_1',
                ...endpointOf(s.target1, schema),
                sslmode,
                sslrootcert: join(work.dir, file),
                tables: ['t'],
              },
            ],
          }),
        );
        const result = await cli(['run', '-c', work.file], { cwd: work.dir });
        expect(result.stderr).toBe(
          `pgcopy: db_1.sslrootcert: ${message.replace('{dir}', work.dir)}\n`,
        );
        expect(result.code).toBe(2);
      }
    },
  );
});

describe('a URL sslmode contradicted by an explicit key, or given twice', () => {
  it('warns on stderr naming both, and uses the explicit key (or the last one)', async () => {
    const base = `postgres://${s.target1.user}:${s.target1.password}@127.0.0.1:${s.target1.port}/postgres`;
    await writeFile(
      work.file,
      JSON.stringify({
        source: {
          url: `postgres://${s.source.user}:${s.source.password}@127.0.0.1:${s.source.port}/postgres?sslmode=verify-full&sslrootcert=/nowhere.pem`,
          sslmode: 'disable',
          schema,
        },
        targets: [
          {
            name: 'db_1',
            url: `${base}?sslmode=verify-full&sslmode=disable`,
            schema,
            tables: ['t'],
          },
        ],
      }),
    );
    const result = await cli(['check', '-c', work.file], { cwd: work.dir });
    expect(result.stderr).toBe(
      'pgcopy: warning: source.sslmode: "disable" overrides sslmode=verify-full in source.url\n' +
        'pgcopy: warning: targets[0].url: sslmode is given twice ("verify-full", then "disable"); the last one, "disable", is used\n',
    );
    expect(result.code).toBe(0);
  });
});
