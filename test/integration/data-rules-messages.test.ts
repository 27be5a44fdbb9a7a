import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { run } from '../../src/copy/run.js';
import type { RunEvent } from '../../src/report/events.js';
import { cli, workDir } from '../support/cli.js';
import { endpointOf, testConfig } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

/**
 * With data rules, no message carries a row's values: a data error on a masked column names the
 * row and the column, in the report, the events (--json) and the audit log, and neither the
 * original nor the masked value. options.redactValues does the same without any rule.
 */

const schema = uniqueName('Data Rules Messages');
const q = `"${schema}"`;
const s = servers();
const KEY = 'a mask key of more than sixteen bytes';
const PHONE = '+44 20 7946 0123';

beforeAll(async () => {
  await sql(
    s.source,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.people (id int PRIMARY KEY, phone text, code text);
     INSERT INTO ${q}.people VALUES (1, '12', 'A1'), (2, '${PHONE}', 'B2'), (3, '34', 'C3');
     CREATE TABLE ${q}.counts (id int PRIMARY KEY, n text);
     INSERT INTO ${q}.counts VALUES (1, '1'), (2, 'twelve thousand');`,
  );
  // phone fits two digits: the second row's masked phone does not.
  await sql(
    s.target1,
    `CREATE SCHEMA ${q};
     CREATE TABLE ${q}.people (id int PRIMARY KEY, phone varchar(2), code text);
     CREATE TABLE ${q}.counts (id int PRIMARY KEY, n int);`,
  );
});

afterAll(async () => {
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

const options = {
  mode: 'truncate',
  retries: 0,
  dataRules: { phone: { mask: 'phone' } },
  maskKey: { env: 'PGCOPY_MESSAGES_KEY' },
};

/** The masked phone of the failing row, as the source computes it for this key. */
async function maskedPhone(): Promise<string> {
  process.env['PGCOPY_MESSAGES_KEY'] = KEY;
  const cfg = testConfig(
    { server: s.source, schema },
    [{ name: 'db_1', server: s.target1, schema, tables: ['people'] }],
    options,
  );
  const planned = (await plan(cfg)).targets[0]?.tables[0];
  const mask = planned?.masks?.[0]?.sql ?? '';
  const { openConnectors } = await import('../../src/session.js');
  const connectors = await openConnectors(cfg);
  try {
    const client = await connectors.source.connect();
    try {
      const result = await client.query(`SELECT ${mask} AS v FROM ${q}.people WHERE id = 2`);
      return (result.rows[0] as { v: string }).v;
    } finally {
      await client.end();
    }
  } finally {
    await connectors.close();
  }
}

describe('dataRules: no row value in any message', () => {
  it('a data error on a masked column names the row and the column, not the value (report and events)', async () => {
    process.env['PGCOPY_MESSAGES_KEY'] = KEY;
    const masked = await maskedPhone();
    expect(masked).toMatch(/^\+\d\d \d\d \d{4} \d{4}$/);
    const events: RunEvent[] = [];
    const { report } = await run(
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: ['people'] }],
        options,
      ),
      { onEvent: (e) => events.push(e) },
    );
    const error = report?.tables[0]?.error;
    expect(error?.sqlstate).toBe('22001');
    expect(error?.message).toMatch(/line 2, column phone\]/);
    const everything = JSON.stringify([report, events]);
    expect(everything).not.toContain(PHONE);
    expect(everything).not.toContain(masked);
  });

  it('the CLI: --json events and the audit log carry no value of the masked column either', async () => {
    const masked = await maskedPhone();
    const work = await workDir({
      source: endpointOf(s.source, schema),
      targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['people'] }],
      options: { ...options, logDir: 'log' },
    });
    try {
      const result = await cli(['run', '-c', work.file, '--json'], {
        cwd: work.dir,
        env: { PGCOPY_MESSAGES_KEY: KEY },
      });
      expect(result.code).not.toBe(0);
      const [log] = await readdir(join(work.dir, 'log'));
      const audit = await readFile(join(work.dir, 'log', log ?? ''), 'utf8');
      expect(audit).toContain('line 2, column phone');
      expect(result.stdout).toContain('line 2, column phone');
      for (const text of [result.stdout, result.stderr, audit]) {
        expect(text).not.toContain(PHONE);
        expect(text).not.toContain(masked);
      }
    } finally {
      await work.cleanup();
    }
  });

  it('options.redactValues without any rule: the value a conversion refuses is not in the message (and is without it)', async () => {
    const cfg = (redactValues: boolean) =>
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: ['counts'] }],
        { mode: 'truncate', retries: 0, redactValues },
      );
    const plain = (await plan(cfg(false))).targets[0]?.tables[0]?.errors.join(' ');
    expect(plain).toContain('twelve thousand');
    const redacted = (await plan(cfg(true))).targets[0]?.tables[0];
    expect(redacted?.errors.join(' ')).toContain('[value redacted]');
    expect(redacted?.errors.join(' ')).not.toContain('twelve thousand');
  });

  it('a missing key and an expression the source refuses are errors naming the config key', async () => {
    delete process.env['PGCOPY_MESSAGES_NO_KEY'];
    const cfg = (rules: Record<string, unknown>, env = 'PGCOPY_MESSAGES_KEY') =>
      testConfig(
        { server: s.source, schema },
        [{ name: 'db_1', server: s.target1, schema, tables: ['people'] }],
        { dataRules: rules, maskKey: { env } },
      );
    await expect(plan(cfg(options.dataRules, 'PGCOPY_MESSAGES_NO_KEY'))).rejects.toThrow(
      'options.maskKey: environment variable PGCOPY_MESSAGES_NO_KEY is not set',
    );
    process.env['PGCOPY_MESSAGES_SHORT_KEY'] = 'short';
    await expect(plan(cfg(options.dataRules, 'PGCOPY_MESSAGES_SHORT_KEY'))).rejects.toThrow(
      'options.maskKey: the key in environment variable PGCOPY_MESSAGES_SHORT_KEY has fewer than 16 bytes (value not shown)',
    );
    const planned = (await plan(cfg({ code: { expression: 'lower(no_such_column)' } }))).targets[0]
      ?.tables[0];
    expect(planned?.errors).toEqual([
      'column "code": options.dataRules["code"]: column "no_such_column" does not exist',
    ]);
    const typed = (await plan(cfg({ 'people.id': { mask: 'email' } }))).targets[0]?.tables[0];
    expect(typed?.errors).toEqual([
      'column "id": options.dataRules["people.id"]: mask email writes text; the column is integer',
    ]);
  });
});
