import type { Strategy } from '../../config/types.js';
import { dblinkStrategy } from './dblink.js';
import { fdwPushStrategy } from './fdw-push.js';
import { fdwStrategy } from './fdw.js';
import { streamStrategy } from './stream.js';
import type { CopyStrategy } from './types.js';

const STRATEGIES: Readonly<Record<Strategy, CopyStrategy>> = {
  stream: streamStrategy,
  dblink: dblinkStrategy,
  fdw: fdwStrategy,
  'fdw-push': fdwPushStrategy,
};

export function strategyFor(name: Strategy): CopyStrategy {
  return STRATEGIES[name];
}
