import { describe, expect, it } from 'vitest';
import { SnapshotCoordinator } from '../../src/copy/snapshot.js';
import { connect, servers, sql } from '../support/db.js';

const s = servers();

describe('the snapshot coordinator', () => {
  it('a coordinator that cannot export its snapshot closes its connection and says why', async () => {
    const client = await connect(s.source);
    client.on('error', () => undefined);
    const pid = ((await client.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number })
      .pid;
    await sql(s.source, 'SELECT pg_terminate_backend($1)', [pid]);
    await expect(SnapshotCoordinator.open(client)).rejects.toThrow();
    // Ended, not left open: a query now fails at once instead of waiting for a server.
    await expect(client.query('SELECT 1')).rejects.toThrow();
  });

  it('exports a snapshot that a second session can join, read-only or read-write', async () => {
    const coordinator = await SnapshotCoordinator.open(await connect(s.source));
    const worker = await connect(s.source);
    try {
      for (const readOnly of [true, false]) {
        await coordinator.join(worker, { readOnly });
        const r = await worker.query<{ transaction_read_only: string }>(
          'SHOW transaction_read_only',
        );
        expect(r.rows[0]?.transaction_read_only).toBe(readOnly ? 'on' : 'off');
        await worker.query('ROLLBACK');
      }
    } finally {
      await worker.end();
      await coordinator.close();
    }
  });
});
