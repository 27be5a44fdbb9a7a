import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePostgresUrl } from '../../config/parse-url.js';
import { validateConfig } from '../../config/validate.js';
import { readSchemaCatalog } from '../../db/catalog.js';
import type { Connector } from '../../db/connector.js';
import { ConfigError } from '../../errors.js';
import {
  passwordVariable,
  sslPasswordVariable,
  starterConfig,
  type SeenEndpoint,
} from '../../init/starter-config.js';
import { createNewFile } from '../../operator-files.js';
import { listSourceTables } from '../../plan/expand-patterns.js';
import { printed } from '../../report/printable.js';
import { openConnectors } from '../../session.js';
import { EXIT, type CliIo } from '../io.js';
import { parseCommandArgs } from '../parse-args.js';
import { COMMAND_OPTIONS } from '../command-options.js';

const USAGE =
  'usage: pgcopy init --source URL --target URL [--target URL]... [--schema NAME] [-o FILE]';

/** The package's pgcopy.schema.json (dist/cli/commands/ is three levels down), as seen from `dir`. */
function schemaPathFrom(dir: string): string {
  const schema = fileURLToPath(new URL('../../../pgcopy.schema.json', import.meta.url));
  const path = relative(dir, schema);
  return path.startsWith('.') || path.startsWith('/') ? path : `./${path}`;
}

/** Each table of the schema with its column names, in column order. */
async function seeTables(
  connector: Connector,
  schema: string,
  signal: AbortSignal | undefined,
): Promise<Map<string, string[]>> {
  const client = await connector.connect(signal ? { signal } : {});
  try {
    const names = await listSourceTables(client, schema);
    const catalog = await readSchemaCatalog(client, schema, names);
    return new Map(
      names.map((n) => [n, (catalog.tables.get(n)?.columns ?? []).map((c) => c.name)]),
    );
  } finally {
    await client.end();
  }
}

/**
 * `pgcopy init --source URL --target URL...`: connects to each, and writes a commented starter
 * config (./pgcopy.yaml unless -o) listing the tables the source shares with each target, and
 * what differs as comments. Never replaces an existing file; never writes a password.
 */
export async function initCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, COMMAND_OPTIONS.init);
  if (positionals.length > 0 || values.source === undefined || !values.target?.length) {
    throw new ConfigError(USAGE);
  }
  const schema = values.schema ?? 'public';
  const config = validateConfig({
    source: { url: values.source, schema },
    targets: values.target.map((url, i) => ({ name: `db_${i + 1}`, url, schema, tables: ['*'] })),
  });
  const file = resolve(io.cwd ?? process.cwd(), values.output ?? 'pgcopy.yaml');
  const connectors = await openConnectors(config, {
    env: io.env,
    trace: io.trace,
    ...(io.signal ? { signal: io.signal } : {}),
  });
  let seen: SeenEndpoint[];
  try {
    const endpoints = [
      { name: 'source', url: values.source, connector: connectors.source },
      ...config.targets.map((t, i) => ({
        name: t.name,
        url: values.target?.[i] ?? '',
        connector: connectors.target(t.name),
      })),
    ];
    seen = await Promise.all(
      endpoints.map(async (e) => ({
        name: e.name,
        url: parsePostgresUrl(e.name, e.url).parts,
        schema,
        tables: await seeTables(e.connector, schema, io.signal),
      })),
    );
  } finally {
    await connectors.close();
  }
  const [source, ...targets] = seen as [SeenEndpoint, ...SeenEndpoint[]];
  // Created only now, and never over an existing file: a failed init leaves nothing behind.
  const output = await createNewFile('--output', file);
  try {
    await output.writeFile(starterConfig(source, targets, schemaPathFrom(dirname(file))));
  } finally {
    await output.close();
  }
  io.stdout.write(printed`Wrote ${file}: review it, then run pgcopy plan.\n`);
  const withPassword = seen.filter((e) => e.url.password !== undefined).map((e) => e.name);
  if (withPassword.length > 0) {
    io.stdout.write(
      `Passwords are not written: set ${withPassword.map(passwordVariable).join(', ')} (or use ~/.pgpass).\n`,
    );
  }
  const withKeyPassword = seen.filter((e) => e.url.sslpassword !== undefined).map((e) => e.name);
  if (withKeyPassword.length > 0) {
    io.stdout.write(
      `Key passphrases are not written: set ${withKeyPassword.map(sslPasswordVariable).join(', ')}.\n`,
    );
  }
  return EXIT.OK;
}
