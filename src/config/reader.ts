import { ConfigError } from '../errors.js';
import { describeValue, joinPath } from './describe-value.js';

/** A value found at a key path in the raw configuration, with typed accessors that fail by name. */
export class Reader {
  constructor(
    readonly path: string,
    readonly value: unknown,
  ) {}

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
        throw new ConfigError(
          `${joinPath(this.path, key)}: unknown key (expected one of ${allowed.join(', ')})`,
        );
      }
      out.set(key, new Reader(joinPath(this.path, key), child));
    }
    return out;
  }

  list(what = 'a list'): Reader[] {
    if (!Array.isArray(this.value)) this.fail(what);
    return (this.value as unknown[]).map((item, i) => new Reader(joinPath(this.path, i), item));
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

/** Optional child: undefined when the key is absent or null. */
export function optional<T>(r: Reader | undefined, read: (r: Reader) => T): T | undefined {
  return r?.present ? read(r) : undefined;
}
