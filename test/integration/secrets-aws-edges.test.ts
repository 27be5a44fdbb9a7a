import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnPgcopy } from '../support/child-pgcopy.js';
import { cliWithConfig, workDir } from '../support/cli.js';
import { REGION } from '../support/secrets-manager-server.js';

const HTML_BODY =
  '<html><body><h1>503 Service Unavailable</h1>proxy-internal-detail-7f3a</body></html>';

/** Accepts connections and never answers (reads, so that close() is not held). */
async function startSilentServer(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Answers every request as a proxy in front of a dead service would: HTML, 503. */
async function startHtml503Server(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: HttpServer = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end(HTML_BODY);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function configWith(secrets: Record<string, unknown>) {
  return {
    secrets: { provider: 'aws', region: REGION, ...secrets },
    source: { secretId: 'pgcopy/edge/source', sslmode: 'disable' },
    targets: [{ name: 'db_1', host: '127.0.0.1', database: 'x', user: 'u', tables: ['t'] }],
  };
}

async function plan(config: unknown) {
  const started = Date.now();
  const result = await cliWithConfig('plan', config);
  return { ...result, ms: Date.now() - started };
}

describe('a Secrets Manager endpoint that never answers', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(async () => {
    await silent.close();
  });

  it('ends at the overall deadline with a SecretError naming the secret and the endpoint', async () => {
    const result = await plan(configWith({ endpoint: silent.url, timeout: 1000 }));
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(5_000);
    expect(result.stderr).toBe(
      `pgcopy: no answer from ${silent.url} within 1000 ms reading secret "pgcopy/edge/source" ` +
        '(secrets.timeout; is the endpoint reachable, and is it Secrets Manager?)\n',
    );
  });

  it('times each request out and retries it with backoff before giving up', async () => {
    const before = silent.connections();
    const result = await plan(
      configWith({ endpoint: silent.url, requestTimeout: 200, timeout: 20_000 }),
    );
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(10_000);
    expect(silent.connections() - before).toBe(3);
    expect(result.stderr).toBe(
      `pgcopy: cannot read secret "pgcopy/edge/source" (TimeoutError from ${silent.url})\n`,
    );
  });
});

describe('an answer that is not AWS JSON', () => {
  let html: Awaited<ReturnType<typeof startHtml503Server>>;
  beforeAll(async () => {
    html = await startHtml503Server();
  });
  afterAll(async () => {
    await html.close();
  });

  it('error bodies on stderr: an HTML 503 reports the status and the secret id, not the body', async () => {
    const result = await plan(configWith({ endpoint: html.url }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^pgcopy: cannot read secret "pgcopy\/edge\/source" \(\w+, HTTP 503\)\n$/,
    );
    expect(result.stderr).not.toContain('proxy-internal-detail');
    expect(result.stderr).not.toContain('$response');
  });

  it('the AWS SDK Node-version warning is not printed', async () => {
    const work = await workDir(configWith({ endpoint: html.url }));
    try {
      const env = { ...process.env };
      delete env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'];
      const child = spawnPgcopy(['plan', '-c', work.file], work.dir, env);
      expect(await child.exitWithin(20_000)).toBe(1);
      expect(child.stderr()).toMatch(
        /^pgcopy: cannot read secret "pgcopy\/edge\/source" \(\w+, HTTP 503\)\n$/,
      );
    } finally {
      await work.cleanup();
    }
  });
});
