import { ConfigError } from '../errors.js';
import { joinPath } from './describe-value.js';
import { isUrlKey, urlTemplateParts } from './url-template.js';

/** `${VAR}`, or `$${`: the escape that writes a literal `${`. */
const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Replaces `${VAR}` in every string of the raw config; an unset variable is an error naming it.
 * `$${` stands for a literal `${` (so `$${VAR}` is the text `${VAR}`).
 */
export function interpolateEnv(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path = '',
): unknown {
  if (typeof value === 'string') {
    const substitute = (text: string, encode: boolean): string =>
      text.replace(VARIABLE, (match, name: string | undefined) => {
        if (name === undefined) return match.slice(1);
        const replacement = Object.hasOwn(env, name) ? env[name] : undefined;
        if (replacement === undefined) {
          throw new ConfigError(`${path || 'config'}: environment variable ${name} is not set`);
        }
        return encode ? encodeURIComponent(replacement) : replacement;
      });
    if (!isUrlKey(path)) return substitute(value, false);
    return urlTemplateParts(value, VARIABLE)
      .map((part) => substitute(part.text, part.encode))
      .join('');
  }
  if (Array.isArray(value))
    return value.map((item, i) => interpolateEnv(item, env, joinPath(path, i)));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, joinPath(path, k))]),
    );
  }
  return value;
}
