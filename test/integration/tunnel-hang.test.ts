import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, workDir } from '../support/cli.js';
import { endpointOf } from '../support/config.js';
import { servers, sql, uniqueName } from '../support/db.js';
import { startSshServer, type TestSshServer } from '../support/ssh-server.js';

const s = servers();
const schema = uniqueName('hang');
const q = `"${schema}"`;
let bastion: TestSshServer;
let work: Awaited<ReturnType<typeof workDir>>;

beforeAll(async () => {
  bastion = await startSshServer();
  bastion.ignoreForwards = true;
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.t (id int)`);
  }
  await sql(s.source, `INSERT INTO ${q}.t SELECT generate_series(1, 10)`);
  work = await workDir({});
  const keyFile = join(work.dir, 'key');
  await writeFile(keyFile, bastion.clientKey.private, { mode: 0o600 });
  await writeFile(
    work.file,
    JSON.stringify({
      source: endpointOf(s.source, schema),
      targets: [
        {
          name: 'db_1',
          ...endpointOf(s.target1, schema),
          ssh: {
            host: bastion.host,
            port: bastion.port,
            user: bastion.user,
            fingerprint: bastion.fingerprint,
            keyFile,
            readyTimeout: 1000,
          },
          tables: ['t'],
        },
        { name: 'db_2', ...endpointOf(s.target2, schema), tables: ['t'] },
      ],
    }),
  );
});

afterAll(async () => {
  await work.cleanup();
  await bastion.stop();
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('a bastion that logs in but never answers a port-forward request', () => {
  it('check times the channel open out and still reports the other endpoints', async () => {
    const started = Date.now();
    const result = await cli(['check', '-c', work.file], { cwd: work.dir });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `the bastion did not answer a request to open a channel to 127.0.0.1:${s.target1.port} within 1000 ms (ssh.readyTimeout)`,
    );
    expect(result.stdout).toMatch(/db_2 \(.*\)\n {2}server/);
    expect(result.stdout).toContain('  - db_1: cannot connect');
    expect(result.stdout).not.toContain('db_2: cannot connect');
  });

  it("run fails that target's tables and copies the others", async () => {
    const started = Date.now();
    const result = await cli(['run', '-c', work.file], { cwd: work.dir });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/db_1\s+t\s+error/);
    expect(result.stdout).toMatch(/db_2\s+t\s+done\s+10/);
  });
});
