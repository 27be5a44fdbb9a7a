/**
 * The stable codes of the warnings pgcopy gives a (target, table) pair. A warning's text says
 * what happened to this table; its code says which kind of warning it is, for `acknowledge` and
 * for tools reading the report. The warnings are recognised by the start of their text, which the
 * plan and copy modules write, so this list is the one place that knows every kind; a warning it
 * does not know gets UNCLASSIFIED (and a test fails: every warning pgcopy writes has a code).
 * docs/warnings.md is this list as a table (a test fails when it is stale).
 */
export interface WarningKind {
  readonly code: string;
  /** Matches the warning's text. */
  readonly pattern: RegExp;
  readonly meaning: string;
  readonly cause: string;
}

export const WARNING_KINDS: readonly WarningKind[] = [
  {
    code: 'SOURCE_ONLY_COLUMNS',
    pattern: /^source-only columns skipped: /,
    meaning: 'Source columns the target table lacks are not copied.',
    cause: 'The target table has fewer columns than the source (an older schema, a narrower copy).',
  },
  {
    code: 'TARGET_ONLY_COLUMNS',
    pattern: /^target-only columns left to their defaults: /,
    meaning: 'Target columns the source lacks get their default (or NULL).',
    cause: 'The target table has columns of its own (audit columns, a newer schema).',
  },
  {
    code: 'GENERATED_COLUMNS',
    pattern: /^generated target columns not written: /,
    meaning: 'Columns that are generated on the target are computed there, not copied.',
    cause: 'A column is GENERATED ALWAYS AS (...) STORED on the target.',
  },
  {
    code: 'CAST_REFUSED_SAMPLE',
    pattern: /^column ".*": .+ -> .+: the target refuses \d+ of \d+ sampled source values/,
    meaning:
      'Some sampled source values do not convert to the target type; only rows the where filter keeps are copied.',
    cause: 'Column types differ and some values are out of the range or format of the target type.',
  },
  {
    code: 'CAST_MAY_LOSE_DATA',
    pattern: /^column ".*": .+ -> .+ converted through text; may lose data: /,
    meaning: 'A column is converted to a narrower type: values may be rounded or cut.',
    cause: 'The target column is narrower (numeric scale, varchar length, timestamp precision).',
  },
  {
    code: 'CAST',
    pattern: /^column ".*": .+ -> .+ converted through text$/,
    meaning: 'A column is converted through text (text COPY instead of binary).',
    cause: 'The source and target column types differ.',
  },
  {
    code: 'UPSERT_IDENTITY_ALWAYS',
    pattern: /^upsert: identity column ".*" is GENERATED ALWAYS on the target/,
    meaning: 'upsert cannot update a GENERATED ALWAYS identity column: existing rows keep theirs.',
    cause: 'The target column is an identity GENERATED ALWAYS and not part of the conflict key.',
  },
  {
    code: 'SEQUENCE_NOT_INTEGER',
    pattern: /^sequence .+ of column ".*" is not advanced: the column is not an integer/,
    meaning: 'A sequence behind a non-integer column is not moved past the copied values.',
    cause: 'A sequence feeds a column of another type (text, numeric) through its default.',
  },
  {
    code: 'SEQUENCE_NOT_ADVANCED',
    pattern: /^sequence .+ of column ".*" not (advanced past|moved below) the copied values: /,
    meaning: 'The rows are copied but a sequence could not be moved past them.',
    cause: 'The role may not read or set the sequence (USAGE / UPDATE missing).',
  },
  {
    code: 'INHERITANCE_CHILDREN_LEFT',
    pattern: /^inheritance children .+ of the source table are not in this target's tables/,
    meaning: 'The rows of inheritance children of the source table are not copied.',
    cause: 'The source table has inheritance children that the tables of the target do not list.',
  },
  {
    code: 'FOREIGN_KEY_CYCLE',
    pattern: /^foreign keys form a cycle through /,
    meaning: 'Tables whose foreign keys form a cycle are loaded without an order between them.',
    cause: 'Tables reference each other (directly or through others).',
  },
  {
    code: 'ROW_SECURITY_APPLIED',
    pattern: /^rowSecurity: apply: /,
    meaning: 'Only the rows the row-level security of the source lets the role see are copied.',
    cause: 'The table sets rowSecurity: apply and its source has policies for the role.',
  },
  {
    code: 'TRUNCATE_GROUP_TRIGGERS',
    pattern: /^disableTriggers: other tables of its truncate group load with triggers on/,
    meaning:
      'The one TRUNCATE of the truncate group runs with triggers on and fires ON TRUNCATE triggers.',
    cause: 'disableTriggers differs between tables of one truncate group.',
  },
  {
    code: 'TRIGGERS_DISABLED',
    pattern: /^disableTriggers: loaded as a replica, so /,
    meaning: 'The load runs as a replica: user triggers and foreign-key checks do not fire.',
    cause: 'disableTriggers is on for the table, its target or the run.',
  },
  {
    code: 'TRIGGERS_FIRE_ANYWAY',
    pattern: /^triggers enabled ALWAYS or REPLICA fire even so: /,
    meaning: 'Triggers enabled ALWAYS or REPLICA fire although disableTriggers is on.',
    cause: 'The target has triggers set with ALTER TABLE ... ENABLE ALWAYS/REPLICA TRIGGER.',
  },
  {
    code: 'TRIGGER_WRITES_PLANNED_TABLE',
    pattern: / writes into planned table\(s\) .+: the plan refuses them while this table loads/,
    meaning: 'A trigger of this table writes into other tables of the plan, which are refused.',
    cause: 'A target trigger inserts or updates other tables the same run copies.',
  },
  {
    code: 'FDW_PUSH_TRIGGER_SEARCH_PATH',
    pattern: /^fdw-push: trigger functions without a search_path of their own /,
    meaning: 'Trigger functions may fail under the pg_catalog-only search_path of postgres_fdw.',
    cause: 'strategy fdw-push, and a target trigger function without SET search_path.',
  },
  {
    code: 'ZERO_ROWS',
    pattern: /^zero rows copied$/,
    meaning: 'The table was copied and no row was read.',
    cause: 'The source table (or its where filter) is empty.',
  },
  {
    code: 'INDEXES_KEPT',
    pattern: /^indexes kept during the load: /,
    meaning: 'rebuildIndexes wanted to drop the indexes for the load but kept them.',
    cause:
      'An index cannot be dropped and made again (the index of a constraint, or one another object needs).',
  },
  {
    code: 'PLAN_CHANGED_SINCE_COMMIT',
    pattern: /^its plan has changed since it was committed under this run id/,
    meaning:
      'A pair committed earlier under this run id is not copied again though its plan changed.',
    cause: 'The config or the tables changed between a run and its re-run under the same run id.',
  },
];

/** The code of a warning pgcopy does not classify (a bug: every warning has a kind above). */
export const UNCLASSIFIED_WARNING = 'UNCLASSIFIED';

export const WARNING_CODES: readonly string[] = WARNING_KINDS.map((k) => k.code);

/** The code of one warning's text. */
export function warningCode(text: string): string {
  return WARNING_KINDS.find((k) => k.pattern.test(text))?.code ?? UNCLASSIFIED_WARNING;
}

/** docs/warnings.md's table of codes, written from this list. */
export function warningCodesMarkdown(): string {
  const cell = (text: string): string => text.replaceAll('|', '\\|');
  const rows = WARNING_KINDS.map(
    (k) => `| \`${k.code}\` | ${cell(k.meaning)} | ${cell(k.cause)} |`,
  );
  return ['| Code | Meaning | Typical cause |', '| --- | --- | --- |', ...rows].join('\n');
}
