import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers, sql, tableDigest, uniqueName } from '../support/db.js';
import type { ServerInfo } from '../support/server-info.js';
import {
  startSecretsManagerServer,
  type SecretsManagerServer,
} from '../support/secrets-manager-server.js';
import { cli, workDir } from '../support/cli.js';

const s = servers();
const schema = uniqueName('secrets_cli');
const q = `"${schema}"`;
let sm: SecretsManagerServer;
const cleanups: (() => Promise<void>)[] = [];

const secretOf = (server: ServerInfo): Record<string, unknown> => ({
  host: server.host,
  port: server.port,
  username: server.user,
  password: server.password,
  dbname: 'postgres',
});

beforeAll(async () => {
  sm = await startSecretsManagerServer({
    secrets: {
      'acme/db/dev/source': secretOf(s.source),
      'acme/db/dev': { one: secretOf(s.target1), two: secretOf(s.target2) },
    },
  });
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int, v text); INSERT INTO ${q}.t SELECT g, md5(g::text) FROM generate_series(1, 500) g;`,
  );
  for (const target of [s.target1, s.target2]) {
    await sql(
      target,
      `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int NOT NULL, v text, UNIQUE (id));`,
    );
  }
});

afterAll(async () => {
  for (const c of cleanups) await c();
  await sm.close();
  for (const server of [s.source, s.target1, s.target2])
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
});

describe('pgcopy run with every endpoint from AWS Secrets Manager', () => {
  it('copies through the real SDK and no output of the run contains a password', async () => {
    const w = await workDir({
      secrets: {
        provider: 'aws',
        region: 'ap-southeast-2',
        endpoint: sm.endpoint,
        prefix: 'acme/db',
        env: 'dev',
      },
      source: { secret: 'source', schema, sslmode: 'disable' },
      targets: [
        { name: 'one', secret: 'one', schema, sslmode: 'disable', tables: ['t'] },
        {
          name: 'two',
          secret: 'two',
          schema,
          sslmode: 'disable',
          tables: [{ name: 't', mode: 'upsert' }],
        },
      ],
    });
    cleanups.push(w.cleanup);
    const reportFile = join(w.dir, 'report.json');
    const planned = await cli(['plan', '-c', w.file, '--json'], { cwd: w.dir });
    const result = await cli(['run', '-c', w.file, '--report', reportFile], {
      cwd: w.dir,
      tty: true,
    });
    expect(result.code).toBe(0);
    const expected = await tableDigest(s.source, `SELECT * FROM ${q}.t`);
    expect(await tableDigest(s.target1, `SELECT * FROM ${q}.t`)).toEqual(expected);
    expect(await tableDigest(s.target2, `SELECT * FROM ${q}.t`)).toEqual(expected);

    const logDir = join(w.dir, 'log');
    const [log] = await readdir(logDir);
    const outputs = [
      planned.stdout,
      planned.stderr,
      result.stdout,
      result.stderr,
      await readFile(reportFile, 'utf8'),
      await readFile(join(logDir, log ?? ''), 'utf8'),
    ];
    for (const password of [s.source.password, s.target1.password, s.target2.password]) {
      for (const output of outputs) expect(output).not.toContain(password);
    }
  });

  it('a secret that does not exist fails the run with the ids tried, exit 1', async () => {
    const w = await workDir({
      secrets: {
        provider: 'aws',
        region: 'ap-southeast-2',
        endpoint: sm.endpoint,
        prefix: 'acme/db',
        env: 'dev',
      },
      source: { secret: 'nowhere', schema },
      targets: [{ name: 'one', secret: 'one', schema, tables: ['t'] }],
    });
    cleanups.push(w.cleanup);
    const result = await cli(['run', '-c', w.file], { cwd: w.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'pgcopy: source: secret not found (tried "acme/db/dev/nowhere", then key "nowhere" of "acme/db/dev")\n',
    );
  });
});
