import type * as z from 'zod';

/** `targets[1].tables[0]` style paths; the root is `config`. */
function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number'
        ? `${text}[${key}]`
        : text === ''
          ? String(key)
          : `${text}.${String(key)}`,
    '',
  );
}

/**
 * A union (a table given by name or as an object; one fingerprint or a list) whose input had the
 * type of exactly one branch: that branch's problems say what to fix, not the union's summary.
 */
function matchedBranch(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue[] | undefined {
  const matched = issue.errors.filter(
    (branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  return matched.length === 1 ? matched[0] : undefined;
}

function linesOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): string[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = matchedBranch(issue);
    if (branch) return branch.flatMap((inner) => linesOf(inner, path));
  }
  const at = pathText(path);
  if (issue.code === 'unrecognized_keys') {
    // One line per unknown key, each already `key: unknown key (...)` (see schema-kit.ts closed).
    return issue.message.split('\n').map((line) => (at === '' ? line : `${at}.${line}`));
  }
  return [`${at || 'config'}: ${issue.message}`];
}

/**
 * zod's issues as pgcopy's problem lines, `key.path: message`, each once. The checks of a whole
 * object count a key as given even when its value is invalid, so that they never echo it.
 */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): string[] {
  return [...new Set(issues.flatMap((issue) => linesOf(issue, [])))];
}
