/** Every error pgcopy raises on purpose: a stable `code`, a message for humans, and the `cause`. */
export class PgcopyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration or command-line usage: the message names the key and the value found. */
export class ConfigError extends PgcopyError {
  /** Every problem of a config, when validation found several (the message holds them too). */
  readonly problems: readonly string[];

  constructor(message: string, options?: { cause?: unknown; problems?: readonly string[] }) {
    super('CONFIG', message, options);
    this.problems = options?.problems ?? [message];
  }

  /** One error for all the problems found, one per line. */
  static of(problems: readonly string[]): ConfigError {
    return new ConfigError(problems.join('\n'), { problems });
  }
}

/** A secret could not be fetched or understood. Never carries the secret's value. */
export class SecretError extends PgcopyError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'SECRET', message, options);
  }
}

/** The SSH tunnel could not be opened, was refused, or dropped. */
export class TunnelError extends PgcopyError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'TUNNEL', message, options);
  }
}

/** A PostgreSQL server could not be reached or refused the login. */
export class ConnectError extends PgcopyError {
  readonly endpoint: string;

  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super('CONNECT', message, options);
    this.endpoint = endpoint;
  }
}

/** Copying one table failed; keeps PostgreSQL's SQLSTATE and the table. */
export class CopyError extends PgcopyError {
  readonly sqlstate: string | undefined;
  readonly table: string;

  constructor(
    table: string,
    message: string,
    options?: { cause?: unknown; sqlstate?: string | undefined },
  ) {
    super('COPY', message, options);
    this.table = table;
    this.sqlstate = options?.sqlstate;
  }
}

/**
 * `pgcopy sync` cannot carry a source table's changes through its mapping any more: a mapped source
 * column is gone, or the replica identity does not say which target row a change is for.
 */
export class SyncSchemaError extends PgcopyError {
  /** The source table, `schema.table`. */
  readonly table: string;
  readonly column: string | undefined;

  constructor(table: string, column: string | undefined, message: string) {
    super('SYNC_SCHEMA', message);
    this.table = table;
    this.column = column;
  }
}

/** Reading a replication slot or applying its changes to a target failed; keeps the SQLSTATE. */
export class SyncError extends PgcopyError {
  readonly sqlstate: string | undefined;
  /** The target table the failing statement wrote, when PostgreSQL said. */
  readonly table: string | undefined;

  constructor(
    message: string,
    options?: { cause?: unknown; sqlstate?: string | undefined; table?: string | undefined },
  ) {
    super('SYNC', message, options);
    this.sqlstate = options?.sqlstate;
    this.table = options?.table;
  }
}

/** The SQLSTATE of a pg DatabaseError, if the value is one. */
export function sqlstateOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = error.code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** A one-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
