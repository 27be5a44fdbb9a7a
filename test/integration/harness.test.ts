import { describe, expect, it } from 'vitest';
import { pg13Server, servers, sql } from '../support/db.js';

describe('test harness', () => {
  it('runs three PostgreSQL 17 servers as a non-root user', async () => {
    const s = servers();
    for (const server of [s.source, s.target1, s.target2]) {
      const { rows } = await sql(
        server,
        `SELECT current_setting('server_version_num')::int AS v, pg_postmaster_start_time() AS t`,
      );
      expect((rows[0] as { v: number }).v).toBeGreaterThanOrEqual(170000);
    }
    const ports = new Set([s.source.port, s.target1.port, s.target2.port]);
    expect(ports.size).toBe(3);
  });

  it('has dblink and postgres_fdw available on the embedded servers', async () => {
    const { rows } = await sql(
      servers().source,
      `SELECT name FROM pg_available_extensions WHERE name IN ('dblink', 'postgres_fdw') ORDER BY name`,
    );
    expect(rows.map((r: { name: string }) => r.name)).toEqual(['dblink', 'postgres_fdw']);
  });

  it('runs a PostgreSQL 13 server (a source older than TID range scans)', async () => {
    const { rows } = await sql(
      pg13Server(),
      `SELECT current_setting('server_version_num')::int AS v`,
    );
    expect(Math.floor((rows[0] as { v: number }).v / 10000)).toBe(13);
  });

  it.skipIf(!servers().pg15)('runs a PostgreSQL 15 server for cross-version cases', async () => {
    const pg15 = servers().pg15;
    if (!pg15) return;
    const { rows } = await sql(pg15, `SELECT current_setting('server_version_num')::int AS v`);
    expect(Math.floor((rows[0] as { v: number }).v / 10000)).toBe(15);
  });
});
