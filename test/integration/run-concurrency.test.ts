import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';

const schema = uniqueName('Concurrency');
const q = `"${schema}"`;
const s = servers();
const tables = Array.from({ length: 40 }, (_, i) => `t${i}`);
let work: Awaited<ReturnType<typeof workDir>>;

beforeAll(async () => {
  const create = tables.map((t) => `CREATE TABLE ${q}.${t} (id int);`).join('\n');
  await sql(
    s.source,
    `CREATE SCHEMA ${q}; ${create}
     ${tables.map((t) => `INSERT INTO ${q}.${t} SELECT generate_series(1, 5000);`).join('\n')}`,
  );
  await sql(s.target1, `CREATE SCHEMA ${q}; ${create}`);
  work = await workDir({
    source: endpointOf(s.source, schema),
    targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables }],
    options: { mode: 'truncate', logDir: 'logs' },
  });
});

afterAll(async () => {
  await work.cleanup();
  await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
  await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
});

describe('high concurrency', () => {
  it('no MaxListenersExceededWarning at concurrency 40: one abort listener per running pair', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): number => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const result = await cli(['run', '-c', work.file, '--quiet', '--concurrency', '40'], {
        cwd: work.dir,
        signal: controller.signal,
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('40 table(s), 200,000 rows');
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
});
