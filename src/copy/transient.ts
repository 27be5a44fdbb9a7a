import { sqlstateOf } from '../errors.js';

/**
 * SQLSTATEs worth a new attempt: serialization failure, deadlock, the server shutting down or
 * terminating the backend, the server starting up, too many connections, and every connection
 * exception (class 08).
 */
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);

/** Node's socket errors: the network, not the data. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);

/** pg's own messages for a connection that ended under it (they carry no code). */
const TRANSIENT_MESSAGES = [
  /Connection terminated/i,
  /connection (was )?closed/i,
  /server closed the connection/i,
];

export function isTransientSqlstate(sqlstate: string | undefined): boolean {
  if (sqlstate === undefined) return false;
  return sqlstate.startsWith('08') || TRANSIENT_SQLSTATES.has(sqlstate);
}

/** True when `error`, or any error in its `cause` chain, is one a new attempt may not meet. */
export function isTransientError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 8; depth += 1) {
    if (isTransientSqlstate(sqlstateOf(e))) return true;
    if (typeof e !== 'object' || e === null) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && TRANSIENT_MESSAGES.some((m) => m.test(message))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
