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
 * A union (a table given by name or as an object; one fingerprint or a list) whose input matched
 * one branch's type and failed deeper inside it: that branch's problems say what to fix.
 */
function deeperBranch(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue[] | undefined {
  const deeper = issue.errors.filter((branch) =>
    branch.some((i) => i.path.length > 0 || i.code === 'unrecognized_keys'),
  );
  return deeper.length === 1 ? deeper[0] : undefined;
}

function linesOf(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): string[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = deeperBranch(issue);
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
 * The problems to show: each once, and without the ones a deeper problem caused (an endpoint whose
 * `host` is invalid also "needs url, host or secret"; its `host` line says what to fix).
 */
function withoutEchoes(problems: readonly string[]): string[] {
  const unique = [...new Set(problems)];
  const pathOf = (p: string): string => p.slice(0, p.indexOf(': '));
  return unique.filter((p) => {
    const path = pathOf(p);
    return !unique.some((other) => {
      const deeper = pathOf(other);
      return deeper.startsWith(`${path}.`) || deeper.startsWith(`${path}[`);
    });
  });
}

/** zod's issues as pgcopy's problem lines, `key.path: message`. */
export function problemsOf(issues: readonly z.core.$ZodIssue[]): string[] {
  return withoutEchoes(issues.flatMap((issue) => linesOf(issue, [])));
}
