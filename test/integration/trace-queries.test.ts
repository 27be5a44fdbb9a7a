import { describe, expect, it } from 'vitest';
import { traceQueries } from '../../src/db/trace.js';
import { CopyOutReader } from '../../src/copy/wire/copy-out-reader.js';
import { connect, servers } from '../support/db.js';

// --debug sees every statement a client sends, whatever form pg was given it in (a string, a
// config object, a submittable such as pgcopy's COPY reader), redacted, and the statement still
// runs exactly as given.
const s = servers();

describe('--debug: every statement a client sends', () => {
  it('is reported redacted, from a string, a config object or a submittable, and still runs', async () => {
    const client = await connect(s.source);
    const seen: string[] = [];
    try {
      traceQueries(client, 'source', (endpoint, sql) => seen.push(`${endpoint}: ${sql}`));
      const plain = await client.query<{ v: string }>("SELECT 'secret-one' AS v");
      const config = await client.query<{ v: string }>({
        text: "SELECT 'secret-two' || $1 AS v",
        values: ['-param'],
      });
      const reader = client.query(new CopyOutReader("COPY (SELECT 'secret-three') TO STDOUT"));
      const chunks: Buffer[] = [];
      for await (const chunk of reader) chunks.push(chunk as Buffer);
      expect(plain.rows[0]?.v).toBe('secret-one');
      expect(config.rows[0]?.v).toBe('secret-two-param');
      expect(Buffer.concat(chunks).toString()).toBe('secret-three\n');
      expect(seen).toEqual([
        "source: SELECT '…' AS v",
        "source: SELECT '…' || $1 AS v",
        "source: COPY (SELECT '…') TO STDOUT",
      ]);
      expect(seen.join('\n')).not.toMatch(/secret|param/);
    } finally {
      await client.end();
    }
  });
});
