import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isUtf8Locale } from '../../src/cli/locale.js';
import { redactSql } from '../../src/db/trace.js';
import { asciiMarkers } from '../../src/report/ascii-markers.js';

const src = fileURLToPath(new URL('../../src', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== 'demo') files.push(...(await sourceFiles(join(dir, e.name))));
    else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
  }
  return files;
}

describe('ASCII markers', () => {
  it('every non-ASCII character in src/ outside comments has an ASCII form', async () => {
    const missing: string[] = [];
    for (const file of await sourceFiles(src)) {
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        const code = line.replace(/\/\/.*$/, '');
        if (/^\s*(\*|\/\*)/.test(code)) continue;
        for (const char of code.match(/[^\x20-\x7e\t]\uFE0F?/gu) ?? []) {
          if (/[^\x20-\x7e]/.test(asciiMarkers(char))) missing.push(`${file}: ${char}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('⚠️ (with its variation selector) and ⚠ both become [WARN]; names keep their letters', () => {
    expect(asciiMarkers('⚠️ Done with warnings: db_1.café')).toBe(
      '[WARN] Done with warnings: db_1.café',
    );
    expect(asciiMarkers('  ⚠ t: x … and 3 more')).toBe('  [WARN] t: x ... and 3 more');
    expect(asciiMarkers('✅ ❌ ❓ ✖ ⧉ ⇉ ↛')).toBe(
      '[OK] [ERROR] [UNKNOWN] [ERROR] [GROUP] [SHARED] [SEPARATE]',
    );
  });
});

describe('the locale as libc decides it', () => {
  it('the first set of LC_ALL, LC_CTYPE, LANG names it; UTF-8 when it says so', () => {
    expect(isUtf8Locale({})).toBe(false);
    expect(isUtf8Locale({ LANG: 'C.UTF-8' })).toBe(true);
    expect(isUtf8Locale({ LANG: 'en_US.utf8' })).toBe(true);
    expect(isUtf8Locale({ LANG: 'en_US.UTF-8', LC_ALL: 'C' })).toBe(false);
    expect(isUtf8Locale({ LANG: 'C', LC_CTYPE: 'de_DE.UTF-8' })).toBe(true);
    expect(isUtf8Locale({ LANG: 'C.UTF-8', LC_ALL: '' })).toBe(true);
  });
});

describe('--debug redaction', () => {
  it("every literal becomes '…', dollar-quoted bodies too; identifiers stay", () => {
    expect(
      redactSql(`SELECT dblink_connect('host=h password=s3cret') FROM "a'b" WHERE x = E'it\\'s'`),
    ).toBe(`SELECT dblink_connect('…') FROM "a'b" WHERE x = '…'`);
    expect(redactSql("SELECT 'it''s', $$body$$, $f$x$f$")).toBe("SELECT '…', $…$, $…$");
  });
});
