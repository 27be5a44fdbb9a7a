import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { validateConfig } from '../src/config/validate.js';
import { run } from '../src/copy/run.js';
import { openSshTunnel } from '../src/tunnel/ssh-tunnel.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import { sshdAvailable, startSshd, type TestSshd } from '../test/support/sshd.js';
import { median, MIXED_COLUMNS, mixedRowsSql } from './support.js';

const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 1_000_000);
const ROUNDS = 3;
const schema = uniqueName('bench_tunnel');
const q = `"${schema}"`;
const s = servers();

describe.skipIf(!sshdAvailable())(
  'a copy through an OpenSSH tunnel against the same copy direct',
  () => {
    let sshd: TestSshd;
    let work: { dir: string; cleanup: () => Promise<void> };

    beforeAll(async () => {
      [sshd, work] = await Promise.all([startSshd({ hostKeyTypes: ['ed25519'] }), workDir('')]);
      await sql(
        s.source,
        `CREATE SCHEMA ${q};
       CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});
       INSERT INTO ${q}.mixed ${mixedRowsSql(ROWS)};
       ANALYZE ${q}.mixed;`,
      );
      await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});`);
    }, 900_000);

    afterAll(async () => {
      await sql(s.source, `DROP SCHEMA ${q} CASCADE`);
      await sql(s.target1, `DROP SCHEMA ${q} CASCADE`);
      await sshd.stop();
      await work.cleanup();
    });

    it(`copies ${ROWS.toLocaleString('en-US')} mixed rows both ways`, async () => {
      const keyFile = join(work.dir, 'key');
      await writeFile(keyFile, sshd.clientKey.private, { mode: 0o600 });
      const config = (tunnel: boolean): Config =>
        validateConfig({
          source: {
            ...endpointOf(s.source, schema),
            ...(tunnel
              ? {
                  ssh: {
                    host: sshd.host,
                    port: sshd.port,
                    user: sshd.user,
                    fingerprint: sshd.fingerprints.ed25519,
                    keyFile,
                  },
                }
              : {}),
          },
          targets: [{ name: 'db_1', ...endpointOf(s.target1, schema), tables: ['mixed'] }],
          options: { mode: 'truncate' },
        });
      const timed = async (tunnel: boolean): Promise<number> => {
        const started = process.hrtime.bigint();
        const { report } = await run(config(tunnel), { deps: { openTunnel: openSshTunnel } });
        expect(report?.tables[0]?.status).toBe('done');
        expect(report?.tables[0]?.rows).toBe(ROWS);
        return Number(process.hrtime.bigint() - started) / 1e9;
      };
      const direct: number[] = [];
      const tunnelled: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        direct.push(await timed(false));
        tunnelled.push(await timed(true));
      }
      expect(await tableDigest(s.target1, `SELECT * FROM ${q}.mixed`)).toEqual(
        await tableDigest(s.source, `SELECT * FROM ${q}.mixed`),
      );
      const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
      process.stdout.write(
        `\ntunnel: ${ROWS.toLocaleString('en-US')} rows; direct median ${median(direct).toFixed(2)} s ` +
          `[${list(direct)}]; through OpenSSH sshd median ${median(tunnelled).toFixed(2)} s ` +
          `[${list(tunnelled)}]; ratio ${(median(tunnelled) / median(direct)).toFixed(2)}\n`,
      );
    });
  },
);
