export const HELP = `pgcopy - copy tables between PostgreSQL databases (only shared columns, atomic per table)

Usage:
  pgcopy plan -c FILE [--target NAME]... [--table NAME]... [--mode MODE] [--json]
      Show what would be copied where, and what cannot be copied. Exit 1 if any table has an error.
  pgcopy run -c FILE [--target NAME]... [--table NAME]... [--mode append|truncate|upsert]
             [--concurrency N] [--report FILE] [--dry-run] [--verify] [--resume REPORT]
             [--quiet]
      Copy every planned table. Exit 1 if any table failed, 130 when interrupted.
      --verify compares each table with the source before its COMMIT; a mismatch rolls it back.
      --resume skips the tables an earlier --report marks done, while their plan is unchanged.
  pgcopy verify -c FILE [--target NAME]... [--table NAME]... [--json]
      Compare row counts and checksums of every planned table. Exit 1 on any mismatch.
  pgcopy fingerprint HOST[:PORT]
      Print the SHA256 fingerprints of an SSH server's host keys (confirm them out of band).
  pgcopy check -c FILE
      Connect to every endpoint and check versions, TLS, latency and privileges.

Options:
  -c, --config FILE   YAML or JSON configuration
  -h, --help          this help
  -v, --version       the version

Exit codes: 0 ok, 1 a table failed or cannot be copied, 2 invalid config or usage, 130 interrupted.
`;
