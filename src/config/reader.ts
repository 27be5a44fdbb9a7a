import { ConfigError } from '../errors.js';
import { describeValue, joinPath } from './describe-value.js';

/**
 * A value found at a key path in the raw configuration, with typed accessors that fail by name.
 * Given a `problems` list (shared by every reader of one config), `optional` and `collect` record a
 * failure there and go on, so that every mistake of a config is reported at once.
 */
export class Reader {
  constructor(
    readonly path: string,
    readonly value: unknown,
    readonly problems?: string[],
  ) {}

  /** Records a problem and goes on when collecting; throws it otherwise. */
  report(error: ConfigError): void {
    if (!this.problems) throw error;
    this.problems.push(...error.problems);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  fail(expected: string): never {
    throw new ConfigError(
      `${this.path || 'config'}: expected ${expected}, got ${describeValue(this.value)}`,
    );
  }

  /** An object whose keys must all be among `allowed`. */
  object(allowed: readonly string[], what = 'an object'): Map<string, Reader> {
    const v = this.value;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(what);
    const out = new Map<string, Reader>();
    for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
      if (!allowed.includes(key)) {
        const guess = closest(key, allowed);
        const hint = guess === undefined ? '' : `did you mean ${guess}? `;
        this.report(
          new ConfigError(
            `${joinPath(this.path, key)}: unknown key (${hint}expected one of ${allowed.join(', ')})`,
          ),
        );
        continue;
      }
      out.set(key, new Reader(joinPath(this.path, key), child, this.problems));
    }
    return out;
  }

  list(what = 'a list'): Reader[] {
    if (!Array.isArray(this.value)) this.fail(what);
    return (this.value as unknown[]).map(
      (item, i) => new Reader(joinPath(this.path, i), item, this.problems),
    );
  }

  string(what = 'a string'): string {
    if (typeof this.value !== 'string' || this.value.trim() === '') this.fail(what);
    return this.value;
  }

  /**
   * A password or passphrase: a string, or a number written without quotes (YAML reads
   * `password: 83927461` as one). A failure names the type received, never the value.
   */
  secretText(): string {
    const v = this.value;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'string' && v !== '') return v;
    const got =
      typeof v === 'string'
        ? 'an empty string'
        : typeof v === 'object'
          ? describeValue(v)
          : `a ${typeof v}`;
    throw new ConfigError(`${this.path}: expected a string, got ${got} (value not shown)`);
  }

  integer(min: number, max: number, what?: string): number {
    let v = this.value;
    if (typeof v === 'string' && /^\d+$/.test(v)) v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(what ?? `an integer from ${min} to ${max}`);
    }
    return v;
  }

  /**
   * A duration as PostgreSQL writes one (`500ms`, `2s`, `5min`, `1h`, `1d`) or a number of
   * milliseconds; returns milliseconds.
   */
  duration(): number {
    const v = this.value;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
    const match = typeof v === 'string' ? /^\s*(\d+)\s*(ms|s|min|h|d)?\s*$/.exec(v) : null;
    if (!match) this.fail('a duration such as 500ms, 2s, 5min, 1h, or milliseconds');
    const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'];
    return Number(match[1]) * (unit ?? 1);
  }

  boolean(): boolean {
    if (typeof this.value !== 'boolean') this.fail('true or false');
    return this.value;
  }

  oneOf<T extends string>(choices: readonly T[]): T {
    if (typeof this.value !== 'string' || !(choices as readonly string[]).includes(this.value)) {
      this.fail(`one of ${choices.join(', ')}`);
    }
    return this.value as T;
  }
}

/** Optional child: undefined when the key is absent or null, or (when collecting) invalid. */
export function optional<T>(r: Reader | undefined, read: (r: Reader) => T): T | undefined {
  return r?.present ? collect(r, read) : undefined;
}

/** Reads `r`; when collecting, a ConfigError is recorded and the result is undefined. */
export function collect<T>(r: Reader, read: (r: Reader) => T): T | undefined {
  try {
    return read(r);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    r.report(error);
    return undefined;
  }
}

/**
 * Edit distance with adjacent transpositions counting one (`hots` is one edit from `host`), for
 * "did you mean": keys are short, so the plain quadratic table is fine.
 */
function distance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(
        (d[i - 1]?.[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (d[i - 1]?.[j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (d[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row.push(best);
    }
    d.push(row);
  }
  return d[a.length]?.[b.length] ?? 0;
}

/** The allowed key nearest to a mistyped one (case ignored), when it is near enough to be meant. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3));
  for (const candidate of allowed) {
    const d = distance(key.toLowerCase(), candidate.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
