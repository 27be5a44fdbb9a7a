import type pg from 'pg';

/** Ends a client gracefully, or destroys its socket when the server does not answer in time. */
export async function endClient(client: pg.Client, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([client.end().then(() => 'ended' as const), timeout]);
    if (outcome === 'timeout') client.connection.stream.destroy();
  } catch {
    client.connection.stream.destroy();
  } finally {
    clearTimeout(timer);
  }
}
