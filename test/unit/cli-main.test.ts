import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/version.js';
import { cli, workDir } from '../support/cli.js';

describe('runCli error mapping', () => {
  it('prints the version', async () => {
    expect(await cli(['--version'])).toEqual({
      code: 0,
      stdout: `pgcopy ${VERSION}\n`,
      stderr: '',
    });
  });

  it('prints help for a command given --help', async () => {
    const result = await cli(['plan', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Exit codes');
  });

  it('maps a failure to connect to exit 1 with a message naming the endpoint, not the password', async () => {
    const w = await workDir({
      source: { url: 'postgres://me:hunter2@127.0.0.1:1/app?sslmode=disable' },
      targets: [
        {
          name: 'db_1',
          url: 'postgres://me:hunter2@127.0.0.1:1/app?sslmode=disable',
          tables: ['t'],
        },
      ],
    });
    try {
      const result = await cli(['plan', '-c', w.file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^pgcopy: cannot connect to source \(me@127\.0\.0\.1:1\/app\): connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
      );
      expect(result.stderr).not.toContain('hunter2');
    } finally {
      await w.cleanup();
    }
  });

  it('exits 2 on a positional argument and 130 when aborted', async () => {
    expect((await cli(['plan', 'extra'])).stderr).toBe(
      'pgcopy: usage: unexpected argument "extra"\n',
    );
    const controller = new AbortController();
    controller.abort(new Error('SIGINT'));
    const w = await workDir({
      source: { url: 'postgres://127.0.0.1:1/x' },
      targets: [{ name: 'a', url: 'postgres://127.0.0.1:1/x', tables: ['t'] }],
    });
    try {
      expect((await cli(['plan', '-c', w.file], { signal: controller.signal })).code).toBe(130);
    } finally {
      await w.cleanup();
    }
  });
});
