type Env = Readonly<Record<string, string | undefined>>;

/**
 * Variables whose values an invoker may read in an error: the runtime's own settings and pgcopy's
 * (PGCOPY_CONFIG excepted: it may hold a password as written). Every other value (the AWS keys
 * and session token, a password in a variable the config refers to) is replaced by its name.
 */
const SHOWN =
  /^(PATH|LANG|TZ|HOME|PWD|NODE_PATH|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|AWS_REGION|AWS_DEFAULT_REGION|AWS_EXECUTION_ENV|AWS_LAMBDA_[A-Z0-9_]+|POWERTOOLS_[A-Z0-9_]+|PGCOPY_(?!CONFIG$|SECRET_)[A-Z0-9_]+)$/;

/** Shorter values are words that any message may hold by chance ("true", "dev", "1"). */
const SHORTEST = 6;

/** Each hidden value with the `${NAME}` it came from, longest first (one may contain another). */
function hiddenValues(env: Env): [string, string][] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .filter(([name, value]) => !SHOWN.test(name) && value.length >= SHORTEST)
    .map(([name, value]): [string, string] => [value, `\${${name}}`])
    .sort((a, b) => b[0].length - a[0].length);
}

function redactText(text: string, hidden: readonly [string, string][]): string {
  let out = text;
  for (const [value, name] of hidden) out = out.split(value).join(name);
  return out;
}

/**
 * The error as an invoker may see it: no value of the function's environment in its message or
 * stack (Lambda returns both to whoever invoked it), whatever put the value there.
 */
export function redactEnvironment<T>(error: T, env: Env): T {
  if (!(error instanceof Error)) return error;
  const hidden = hiddenValues(env);
  error.message = redactText(error.message, hidden);
  if (error.stack !== undefined) error.stack = redactText(error.stack, hidden);
  return error;
}
