/**
 * Compile-time checks that a zod schema and a hand-written type say the same thing: a schema whose
 * output drifts from its type fails `tsc`. Types only; nothing here exists at run time.
 */

/** `true` when each of A and B is assignable to the other. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Fails to compile unless T is `true`. */
export type Assert<T extends true> = T;

/** zod's output, readonly, and optional keys without `| undefined` (exactOptionalPropertyTypes). */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<Exclude<T[K], undefined>> }
    : T;
