import type { UrlParts } from '../config/parse-url.js';

/** One endpoint as `pgcopy init` saw it: where it is, and its tables with their column names. */
export interface SeenEndpoint {
  readonly name: string;
  readonly url: UrlParts;
  readonly schema: string;
  readonly tables: ReadonlyMap<string, readonly string[]>;
}

/** A YAML scalar: JSON's string syntax is valid YAML and quotes whatever needs it. */
const str = (value: string): string => JSON.stringify(value);
const list = (names: readonly string[]): string => names.map(str).join(', ');

/** The environment variable a starter config reads an endpoint's password from. */
export function passwordVariable(name: string): string {
  return `PGCOPY_${name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}_PASSWORD`;
}

/** The environment variable a starter config reads an endpoint's sslpassword from. */
export function sslPasswordVariable(name: string): string {
  return `PGCOPY_${name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}_SSLPASSWORD`;
}

function endpointLines(ep: SeenEndpoint, indent: string): string[] {
  const u = ep.url;
  return [
    ...(u.host === undefined ? [] : [`${indent}host: ${str(u.host)}`]),
    ...(u.port === undefined ? [] : [`${indent}port: ${u.port}`]),
    ...(u.database === undefined ? [] : [`${indent}database: ${str(u.database)}`]),
    ...(u.user === undefined ? [] : [`${indent}user: ${str(u.user)}`]),
    u.password === undefined
      ? `${indent}# password: \${${passwordVariable(ep.name)}} # or ~/.pgpass, or a secret`
      : `${indent}password: \${${passwordVariable(ep.name)}} # set it in the environment (or use ~/.pgpass)`,
    ...(u.sslmode === undefined ? [] : [`${indent}sslmode: ${u.sslmode}`]),
    ...(u.sslrootcert === undefined ? [] : [`${indent}sslrootcert: ${str(u.sslrootcert)}`]),
    ...(u.sslcert === undefined ? [] : [`${indent}sslcert: ${str(u.sslcert)}`]),
    ...(u.sslkey === undefined ? [] : [`${indent}sslkey: ${str(u.sslkey)}`]),
    // Like the password, the key's passphrase is never written: it is read from the environment.
    ...(u.sslpassword === undefined
      ? []
      : [`${indent}sslpassword: \${${sslPasswordVariable(ep.name)}} # set it in the environment`]),
    ...(u.connectTimeout === undefined ? [] : [`${indent}connectTimeout: ${u.connectTimeout}`]),
    ...(u.applicationName === undefined
      ? []
      : [`${indent}applicationName: ${str(u.applicationName)}`]),
    `${indent}schema: ${str(ep.schema)}`,
  ];
}

/** What differs between the source and one target, as comments under the target. */
function differences(source: SeenEndpoint, target: SeenEndpoint, shared: string[]): string[] {
  const onlySource = [...source.tables.keys()].filter((t) => !target.tables.has(t));
  const onlyTarget = [...target.tables.keys()].filter((t) => !source.tables.has(t));
  const lines: string[] = [];
  if (onlySource.length > 0) lines.push(`only in the source (not copied): ${list(onlySource)}`);
  if (onlyTarget.length > 0) lines.push(`only in this target (left alone): ${list(onlyTarget)}`);
  for (const table of shared) {
    const s = source.tables.get(table) ?? [];
    const t = target.tables.get(table) ?? [];
    const sourceOnly = s.filter((c) => !t.includes(c));
    const targetOnly = t.filter((c) => !s.includes(c));
    if (sourceOnly.length > 0) {
      lines.push(`${str(table)}: source-only columns, skipped: ${list(sourceOnly)}`);
    }
    if (targetOnly.length > 0) {
      lines.push(`${str(table)}: target-only columns, left to their defaults: ${list(targetOnly)}`);
    }
  }
  return lines.map((l) => `    # ${l}`);
}

/**
 * A commented starter config: the endpoints as given (passwords read from the environment, never
 * written), each target's tables shared with the source, and what differs, as comments.
 */
export function starterConfig(
  source: SeenEndpoint,
  targets: readonly SeenEndpoint[],
  schemaPath: string,
): string {
  const lines = [
    `# yaml-language-server: $schema=${schemaPath}`,
    '# pgcopy configuration, written by `pgcopy init`: review it, then `pgcopy plan`.',
    '# Reference: docs/configuration.md.',
    'source:',
    ...endpointLines(source, '  '),
    'targets:',
  ];
  for (const target of targets) {
    const shared = [...source.tables.keys()].filter((t) => target.tables.has(t)).sort();
    lines.push(`  - name: ${str(target.name)}`, ...endpointLines(target, '    '));
    if (shared.length === 0) {
      lines.push('    tables: [] # no table in common yet: list some, or a pattern such as "*"');
    } else {
      lines.push(`    tables: # shared with the source (${shared.length})`);
      lines.push(...shared.map((t) => `      - ${str(t)}`));
    }
    lines.push(...differences(source, target, shared));
  }
  lines.push('options:', '  mode: append # append | truncate | upsert | insert-new', '');
  return lines.join('\n');
}
