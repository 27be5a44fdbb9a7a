/**
 * Where `${VAR}` substitutions in a `url` value must be percent-encoded: in the user-info
 * (`user:password@`) and the path (the database name). A password holding `@ : / ? # %` would
 * otherwise change where the URL splits, and its tail would show up as a host or a parameter.
 */

export interface UrlTemplatePart {
  readonly text: string;
  /** Substitutions in this part are percent-encoded. */
  readonly encode: boolean;
}

/** Splits a URL template (variables not yet substituted) into parts to encode and parts to keep. */
export function urlTemplateParts(template: string, variable: RegExp): UrlTemplatePart[] {
  // Scan with each variable blanked out, so that characters inside `${...}` never split the URL.
  const masked = template.replace(variable, (m) => '_'.repeat(m.length));
  const scheme = masked.indexOf('://');
  if (scheme < 0) return [{ text: template, encode: false }];
  const authorityStart = scheme + 3;
  const authorityEnd = firstOf(masked, '/?#', authorityStart);
  const at = masked.lastIndexOf('@', authorityEnd - 1);
  const userInfoEnd = at >= authorityStart ? at : authorityStart;
  const pathEnd = masked[authorityEnd] === '/' ? firstOf(masked, '?#', authorityEnd) : authorityEnd;
  const cuts: [number, number, boolean][] = [
    [0, authorityStart, false],
    [authorityStart, userInfoEnd, true],
    [userInfoEnd, authorityEnd, false],
    [authorityEnd, pathEnd, true],
    [pathEnd, template.length, false],
  ];
  return cuts
    .filter(([start, end]) => end > start)
    .map(([start, end, encode]) => ({ text: template.slice(start, end), encode }));
}

function firstOf(text: string, chars: string, from: number): number {
  for (let i = from; i < text.length; i++) if (chars.includes(text.charAt(i))) return i;
  return text.length;
}

/** `source.url`, `targets[2].url`: the config keys whose value is a postgres:// URL. */
export function isUrlKey(path: string): boolean {
  return path === 'url' || path.endsWith('.url');
}
