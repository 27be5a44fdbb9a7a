import { writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { validateConfig } from '../src/config/validate.js';
import { run } from '../src/copy/run.js';
import { openSshTunnel } from '../src/tunnel/ssh-tunnel.js';
import { workDir } from '../test/support/cli.js';
import { endpointOf } from '../test/support/config.js';
import { servers, sql, tableDigest, uniqueName } from '../test/support/db.js';
import { startSshServer, type TestSshServer } from '../test/support/ssh-server.js';
import {
  createMixedSource,
  median,
  MIXED_COLUMNS,
  postmasterOf,
  serverCpuSeconds,
} from './support.js';

/**
 * Read once, write many: one source table copied into two targets (each taking its own columns),
 * read once for both against one read per target. Measured per copy: the source server's CPU
 * seconds (its processes' user + system time from /proc, exited backends included through the
 * postmaster's children's times), the bytes the source sent, and, with the source behind an SSH
 * tunnel, the bytes through the tunnel. Medians of alternating rounds; printed, not asserted.
 */
const ROWS = Number(process.env.PGCOPY_BENCH_ROWS ?? 500_000);
const ROUNDS = Number(process.env.PGCOPY_BENCH_ROUNDS ?? 3);
const schema = uniqueName('bench_fanout');
const q = `"${schema}"`;
const s = servers();
/** `part` on target2 takes some of the columns only: its rows are projected out of the read. */
const PART_COLUMNS = `id bigint, observed_at timestamptz, label text, day date`;

/** Counts the bytes each way through a loopback TCP relay (in front of a server or a bastion). */
class CountingProxy {
  toClient = 0;
  toServer = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number }): Promise<CountingProxy> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    const proxy = new CountingProxy(server, address.port);
    server.on('connection', (client: Socket) => {
      const far = connect({ host: upstream.host, port: upstream.port, noDelay: true });
      for (const socket of [client, far]) {
        proxy.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          proxy.sockets.delete(socket);
          client.destroy();
          far.destroy();
        });
      }
      client.on('data', (d: Buffer) => (proxy.toServer += d.length));
      far.on('data', (d: Buffer) => (proxy.toClient += d.length));
      client.pipe(far);
      far.pipe(client);
    });
    return proxy;
  }

  reset(): void {
    this.toClient = 0;
    this.toServer = 0;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Figures {
  seconds: number;
  cpu: number;
  bytes: number;
}

beforeAll(async () => {
  await createMixedSource(s.source, q, ROWS);
  await sql(s.source, `CHECKPOINT`);
  await sql(s.target1, `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${MIXED_COLUMNS});`);
  await sql(
    s.target2,
    `CREATE SCHEMA ${q}; CREATE TABLE ${q}.mixed (${MIXED_COLUMNS}); CREATE TABLE ${q}.part (${PART_COLUMNS});`,
  );
}, 900_000);

afterAll(async () => {
  for (const server of [s.source, s.target1, s.target2]) {
    await sql(server, `DROP SCHEMA ${q} CASCADE`);
  }
});

describe('read once, write many: two targets from one source table', () => {
  let ssh: TestSshServer;
  let work: { dir: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    [ssh, work] = await Promise.all([startSshServer(), workDir('')]);
  });
  afterAll(async () => {
    await ssh.stop();
    await work.cleanup();
  });

  it.each([
    ['the same columns', 'mixed'],
    ['target2 taking 4 of the 8 columns', 'part'],
  ])(
    `copies ${ROWS.toLocaleString('en-US')} rows into 2 targets (%s), read once against one read per target`,
    async (scenario, table2) => {
      const keyFile = join(work.dir, 'key');
      await writeFile(keyFile, ssh.clientKey.private, { mode: 0o600 });
      const postmaster = await postmasterOf(s.source);
      const direct = await CountingProxy.start(s.source);
      const bastion = await CountingProxy.start(ssh);
      try {
        const config = (readOnce: boolean, tunnel: boolean): Config =>
          validateConfig({
            source: tunnel
              ? {
                  ...endpointOf(s.source, schema),
                  ssh: {
                    host: '127.0.0.1',
                    port: bastion.port,
                    user: ssh.user,
                    fingerprint: ssh.fingerprint,
                    keyFile,
                  },
                }
              : { ...endpointOf(s.source, schema), port: direct.port },
            targets: [
              { name: 'one', ...endpointOf(s.target1, schema), tables: ['mixed'] },
              {
                name: 'two',
                ...endpointOf(s.target2, schema),
                tables: [{ name: 'mixed', target: table2 }],
              },
            ],
            options: { mode: 'truncate', readOnce },
          });
        const measure = async (readOnce: boolean, tunnel: boolean): Promise<Figures> => {
          const counter = tunnel ? bastion : direct;
          counter.reset();
          const cpuBefore = await serverCpuSeconds(postmaster);
          const started = process.hrtime.bigint();
          const { report } = await run(config(readOnce, tunnel), {
            deps: { openTunnel: openSshTunnel },
          });
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          // The backends' times reach the postmaster once they have exited and been reaped.
          await new Promise((r) => setTimeout(r, 300));
          const cpu = (await serverCpuSeconds(postmaster)) - cpuBefore;
          expect(report?.tables.map((t) => [t.target, t.error, t.rows])).toEqual([
            ['one', null, ROWS],
            ['two', null, ROWS],
          ]);
          return { seconds, cpu, bytes: counter.toClient };
        };
        const methods = [
          ['read once', true, false],
          ['one read per target', false, false],
          ['read once, tunnel', true, true],
          ['one read per target, tunnel', false, true],
        ] as const;
        const figures = new Map<string, Figures[]>(methods.map(([name]) => [name, []]));
        for (let round = 0; round < ROUNDS; round += 1) {
          // Alternating order: neither method always runs on a warmer server.
          const order = round % 2 === 0 ? methods : [...methods].reverse();
          for (const [name, once, tunnel] of order) {
            figures.get(name)?.push(await measure(once, tunnel));
          }
        }
        const medianOf = (name: string, key: keyof Figures): number =>
          median((figures.get(name) ?? []).map((f) => f[key]));
        const lines = [
          `| method | wall s | source CPU s | bytes from the source (MB) |`,
          `|---|---|---|---|`,
          ...methods.map(
            ([name]) =>
              `| ${name} | ${medianOf(name, 'seconds').toFixed(2)} | ${medianOf(name, 'cpu').toFixed(2)} | ${(medianOf(name, 'bytes') / 1e6).toFixed(1)} |`,
          ),
        ];
        const ratio = (a: string, b: string, key: keyof Figures): string =>
          (medianOf(a, key) / medianOf(b, key)).toFixed(2);
        lines.push(
          '',
          `read once / one read per target (goal 0.50 for 2 targets): source CPU ${ratio('read once', 'one read per target', 'cpu')}, bytes ${ratio('read once', 'one read per target', 'bytes')}, wall ${ratio('read once', 'one read per target', 'seconds')}`,
          `through the SSH tunnel: tunnel bytes ${ratio('read once, tunnel', 'one read per target, tunnel', 'bytes')}, source CPU ${ratio('read once, tunnel', 'one read per target, tunnel', 'cpu')}, wall ${ratio('read once, tunnel', 'one read per target, tunnel', 'seconds')}`,
        );
        console.log(
          `\nRead once, write many: ${ROWS.toLocaleString('en-US')} rows, 2 targets, ${scenario}, ${ROUNDS} rounds\n${lines.join('\n')}\n`,
        );
        const expected = [
          await tableDigest(s.source, `SELECT * FROM ${q}.mixed`),
          await tableDigest(
            s.source,
            `SELECT ${table2 === 'part' ? 'id, observed_at, label, day' : '*'} FROM ${q}.mixed`,
          ),
        ];
        expect([
          await tableDigest(s.target1, `SELECT * FROM ${q}.mixed`),
          await tableDigest(s.target2, `SELECT * FROM ${q}.${table2}`),
        ]).toEqual(expected);
      } finally {
        await direct.stop();
        await bastion.stop();
      }
    },
  );
});
