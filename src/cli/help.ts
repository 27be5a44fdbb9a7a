/** One command's help: its usage lines, what it does, and the options only it takes. */
interface CommandHelp {
  readonly usage: string;
  readonly summary: string;
  readonly options?: readonly string[];
}

/** Adding a command's help is one entry here; the global help lists them in this order. */
const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  plan: {
    usage:
      'pgcopy plan [-c FILE] [--target NAME]... [--table NAME]... [--mode MODE]\n            [--allow-truncate NAME]... [--items [--budget BYTES]] [--json]',
    summary:
      'Show what would be copied where, and what cannot be copied. Exit 1 if any table has an error.',
    options: [
      '--target NAME       only this target (repeatable)',
      '--table NAME        only this table (repeatable)',
      '--mode MODE         write mode of the tables without a mode of their own (replaces options.mode)',
      '--allow-truncate NAME  truncate mode may empty protected target NAME (repeatable)',
      '--json              the plan as JSON on stdout',
      '--items             the run as items for a fan-out (as the Lambda items action returns them)',
      '--budget BYTES      with --items: most estimated bytes per item (default 2 GiB)',
    ],
  },
  run: {
    usage:
      'pgcopy run [-c FILE] [--target NAME]... [--table NAME]... [--mode append|truncate|upsert|insert-new]\n' +
      '           [--allow-truncate NAME]... [--concurrency N] [--report FILE] [--dry-run]\n' +
      '           [--verify] [--resume REPORT] [--quiet] [--json]',
    summary: 'Copy every planned table. Exit 1 if any table failed, 130 when interrupted.',
    options: [
      '--target NAME       only this target (repeatable)',
      '--table NAME        only this table (repeatable)',
      '--mode MODE         write mode of the tables without a mode of their own (replaces options.mode)',
      '--allow-truncate NAME  truncate mode may empty protected target NAME (repeatable)',
      '--concurrency N     tables copied at once (1-64)',
      '--report FILE       write the run report as JSON',
      '--dry-run           print the plan, copy nothing',
      '--verify            compare each table with the source before its COMMIT; a mismatch rolls it back',
      '--run-id ID         the run id (default: a new one); the same id again skips what it committed',
      '--resume REPORT     continue the run of an earlier --report under its run id',
      '-q, --quiet         no progress on stderr',
      '--json              one JSON object per event on stdout (NDJSON); the summary on stderr',
    ],
  },
  verify: {
    usage: 'pgcopy verify [-c FILE] [--target NAME]... [--table NAME]... [--json]',
    summary: 'Compare row counts and checksums of every planned table. Exit 1 on any mismatch.',
    options: [
      '--target NAME       only this target (repeatable)',
      '--table NAME        only this table (repeatable)',
      '--json              the comparison as JSON on stdout',
    ],
  },
  sync: {
    usage:
      'pgcopy sync [-c FILE] [--until now|LSN] [--follow] [--quiet] [--json]\n            pgcopy sync [-c FILE] --status|--drop [--json]',
    summary:
      "Copy every table in a replication slot's snapshot the first time, then carry the source's inserts, updates, deletes and truncates to every target, exactly once.",
    options: [
      '--until now|LSN     apply the changes up to this WAL position (default now: where the source is when the sync starts)',
      '--follow            keep applying until SIGINT/SIGTERM (the transaction being applied is finished first)',
      "--status            the slot, its lag in bytes and time, each target's position",
      '--drop              remove the slot and the publications (and the positions on the targets)',
      '--quiet, -q         no progress on stderr',
      '--json              the report as JSON on stdout',
    ],
  },
  history: {
    usage: 'pgcopy history [-c FILE] [--target NAME]... [--limit N] [--json]',
    summary:
      "List the recent runs as the targets' ledgers recorded them (run id, last commit, tables, rows).",
    options: [
      '--target NAME       only this target (repeatable)',
      '--limit N           runs per target, newest first (default 20)',
      '--json              the runs as JSON on stdout',
    ],
  },
  fingerprint: {
    usage: 'pgcopy fingerprint HOST[:PORT]',
    summary:
      "Print the SHA256 fingerprints of an SSH server's host keys (confirm them out of band).",
  },
  init: {
    usage: 'pgcopy init --source URL --target URL [--target URL]... [--schema NAME] [-o FILE]',
    summary:
      'Write a commented starter config (./pgcopy.yaml) with the tables the source shares with each target.',
    options: [
      '--schema NAME       the schema on every side (default public)',
      '-o, --output FILE   where to write (never over an existing file)',
    ],
  },
  check: {
    usage: 'pgcopy check [-c FILE] [--json]',
    summary: 'Connect to every endpoint and check versions, TLS, latency and privileges.',
    options: ['--json              the findings as JSON on stdout'],
  },
  completion: {
    usage: 'pgcopy completion bash|zsh|fish',
    summary:
      'Print the shell completion script: source <(pgcopy completion bash), or pgcopy completion fish | source.',
  },
};

const TITLE =
  'pgcopy - copy tables between PostgreSQL databases (only shared columns, atomic per table)';

const COMMON_OPTIONS = `  -c, --config FILE   YAML or JSON configuration (default: $PGCOPY_CONFIG, a file's name or the
                      config itself, else ./pgcopy.yaml, ./pgcopy.yml or ./pgcopy.json)
  -h, --help          this help; pgcopy help COMMAND (or pgcopy COMMAND --help): that command's
  -V, --version       the version
  --verbose           say each step on stderr (connecting, catalogs, snapshot, each table)
  --debug             --verbose and every SQL statement sent, literals redacted (no password, no value)
  --ascii             markers in ASCII ([OK], [WARN]...), the audit log's too; automatic (the log
                      excepted) when the locale is not UTF-8`;

const EXIT_CODES = `Exit codes: 0 ok, 1 a table failed or cannot be copied, 2 invalid config or usage, 130 interrupted
(SIGINT), 143 terminated (SIGTERM).
`;

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((line) => by + line)
    .join('\n');

export const HELP = `${TITLE}

Usage:
${Object.values(COMMAND_HELP)
  .map((c) => `${indent(c.usage, '  ')}\n${indent(c.summary, '      ')}`)
  .join('\n')}

Options:
${COMMON_OPTIONS}

${EXIT_CODES}`;

/** `pgcopy COMMAND --help`: that command's usage and options; the global help for an unknown name. */
export function commandHelp(name: string): string {
  const help = Object.hasOwn(COMMAND_HELP, name) ? COMMAND_HELP[name] : undefined;
  if (!help) return HELP;
  const own = (help.options ?? []).map((o) => `  ${o}\n`).join('');
  return `Usage:\n${indent(help.usage, '  ')}\n\n${help.summary}\n\nOptions:\n${own}${COMMON_OPTIONS}\n\n${EXIT_CODES}`;
}
