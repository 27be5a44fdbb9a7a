/**
 * Whether the locale's character set is UTF-8, as libc decides it: the first of LC_ALL, LC_CTYPE
 * and LANG that is set and not empty names the locale; none set is the C locale (ASCII).
 */
export function isUtf8Locale(env: Readonly<Record<string, string | undefined>>): boolean {
  const locale = [env['LC_ALL'], env['LC_CTYPE'], env['LANG']].find(
    (v) => v !== undefined && v !== '',
  );
  return locale !== undefined && /utf-?8/i.test(locale);
}
