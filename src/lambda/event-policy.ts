import { MODES, type Config, type EndpointConfig, type Mode } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { secretLookup } from '../secrets/secret-layouts.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * What the deployment lets an invoker do beyond narrowing the run (the function's environment,
 * set by the template's parameters). Whoever may invoke the function (lambda:InvokeFunction,
 * states:StartExecution) is not trusted with the function's environment, secrets or role.
 */
export interface EventPolicy {
  /** PGCOPY_EVENT_CONFIG=allow: an event may carry a whole config (untrusted input). */
  readonly configAllowed: boolean;
  /** PGCOPY_EVENT_SECRETS: the secret ids an event's config may read (`ID`, or `PREFIX/*`: PREFIX and all under it). */
  readonly secrets: readonly string[];
  /** PGCOPY_EVENT_MODES: modes an event may ask for even where they are more destructive. */
  readonly modes: readonly Mode[];
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function eventPolicyFrom(env: Env): EventPolicy {
  const switch_ = env['PGCOPY_EVENT_CONFIG'] ?? '';
  if (!['', 'allow', 'deny'].includes(switch_)) {
    throw new ConfigError(`PGCOPY_EVENT_CONFIG: expected allow or deny, got "${switch_}"`);
  }
  const modes = list(env['PGCOPY_EVENT_MODES']);
  for (const mode of modes) {
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new ConfigError(
        `PGCOPY_EVENT_MODES: expected modes among ${MODES.join(', ')}, got "${mode}"`,
      );
    }
  }
  return {
    configAllowed: switch_ === 'allow',
    secrets: list(env['PGCOPY_EVENT_SECRETS']),
    modes: modes as Mode[],
  };
}

/** Refuses an event's config unless the deployment allows one. */
export function checkEventConfigAllowed(policy: EventPolicy): void {
  if (!policy.configAllowed) {
    throw new ConfigError(
      'event.config: refused: this function runs the config it was deployed with; events may only ' +
        'narrow it (targets, tables, dryRun). The deployment accepts a config in events only with ' +
        'PGCOPY_EVENT_CONFIG=allow (the template parameter AllowEventConfig)',
    );
  }
}

/** The path of the first string holding `${` (an environment reference), if any. */
function variableAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('${') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = variableAt(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * An event's config is read as it is: `${VAR}` would hand the function's environment (its AWS
 * keys among it) to whoever wrote the event.
 */
export function refuseEnvironmentReferences(raw: unknown): void {
  const at = variableAt(raw, 'event.config');
  if (at !== undefined) {
    throw new ConfigError(
      `${at}: \${VAR} is not allowed in an event's config (the function's environment is not the invoker's)`,
    );
  }
}

function allowedSecret(policy: EventPolicy, id: string): boolean {
  return policy.secrets.some((entry) =>
    // `P/*`: P itself (the combined secret of P's databases) and every secret under P/.
    entry.endsWith('/*')
      ? id === entry.slice(0, -2) || id.startsWith(entry.slice(0, -1))
      : id === entry,
  );
}

/** Fields that decide where an endpoint's password is sent. */
const DESTINATION_FIELDS = ['host', 'port', 'ssh', 'serverAddress'] as const;

function checkEndpoint(config: Config, ep: EndpointConfig, key: string, policy: EventPolicy): void {
  const files: [string, unknown][] = [
    ['sslrootcert', ep.sslrootcert],
    ['sslcert', ep.sslcert],
    ['sslkey', ep.sslkey],
    ['ssh.keyFile', ep.ssh?.keyFile],
    ['service', ep.service],
  ];
  for (const [field, value] of files) {
    if (value !== undefined) {
      throw new ConfigError(
        `${key}.${field}: not allowed in an event's config (it names a file of the function's)`,
      );
    }
  }
  if (ep.auth === 'iam') {
    // The token is signed with the function's own role: an event would choose where it logs in.
    throw new ConfigError(
      `${key}.auth: iam is not allowed in an event's config (it signs with the function's AWS role)`,
    );
  }
  const lookup = secretLookup(ep, config.secrets);
  if (lookup === undefined) return;
  const ids =
    lookup.kind === 'id'
      ? [lookup.id]
      : [lookup.perDatabaseId, ...(lookup.combinedId === undefined ? [] : [lookup.combinedId])];
  for (const id of ids) {
    if (!allowedSecret(policy, id)) {
      throw new ConfigError(
        `${key}: secret "${id}" is not one an event may use (PGCOPY_EVENT_SECRETS: ${policy.secrets.join(', ') || 'none'})`,
      );
    }
  }
  // A secret's password goes where the secret says, never where the event says.
  for (const field of DESTINATION_FIELDS) {
    if (ep[field] !== undefined) {
      throw new ConfigError(
        `${key}.${field}: not allowed beside a secret in an event's config (the secret's password would go where the event says)`,
      );
    }
  }
}

/**
 * The checks an event's config must pass once validated: no file of the function's (key files, CA
 * files, pg_service.conf, a secrets file), no secrets provider that reads the function's
 * environment or a custom endpoint, secrets only from the deployment's allowlist.
 */
export function checkEventConfig(config: Config, policy: EventPolicy): void {
  const secrets = config.secrets;
  if (secrets !== undefined) {
    if (secrets.provider !== 'aws') {
      throw new ConfigError(
        `event.config.secrets.provider: "${secrets.provider}" is not allowed in an event's config (it reads the function's files or environment); use aws`,
      );
    }
    if (secrets.endpoint !== undefined) {
      throw new ConfigError(
        "event.config.secrets.endpoint: not allowed in an event's config (the function's signed requests would go there)",
      );
    }
  }
  checkEndpoint(config, config.source, 'event.config.source', policy);
  config.targets.forEach((target, i) =>
    checkEndpoint(config, target, `event.config.targets[${i}]`, policy),
  );
}

/** How much a mode may destroy on the target: the order an event may not climb unasked. */
const DESTRUCTIVENESS: Readonly<Record<Mode, number>> = {
  'insert-new': 0,
  append: 1,
  upsert: 2,
  truncate: 3,
};

/**
 * An event's `mode` may narrow what the deployment does (a less destructive mode than every mode
 * its config gives), and widen it only to modes the deployment lists in PGCOPY_EVENT_MODES.
 */
export function checkEventMode(config: Config, mode: Mode | undefined, policy: EventPolicy): void {
  if (mode === undefined || policy.modes.includes(mode)) return;
  const configured = [
    config.options.mode,
    ...config.targets.flatMap((t) => t.tables.flatMap((table) => table.mode ?? [])),
  ];
  const least = Math.min(...configured.map((m) => DESTRUCTIVENESS[m]));
  if (DESTRUCTIVENESS[mode] > least) {
    throw new ConfigError(
      `event.mode: "${mode}" is more destructive than the deployment's config allows (${[...new Set(configured)].join(', ')}); ` +
        'list it in PGCOPY_EVENT_MODES (the template parameter EventModes) to allow it',
    );
  }
}
