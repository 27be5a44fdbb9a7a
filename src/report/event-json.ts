import { planToJson } from '../plan/render-plan.js';
import type { RunEvent } from './events.js';

/**
 * A run event as the JSON object `run --json` writes on one line: the event itself, its plan in
 * the shape `plan --json` prints. Events carry no secrets (names, counts, messages).
 */
export function eventToJson(event: RunEvent): unknown {
  if (event.type !== 'plan') return event;
  return {
    type: 'plan',
    ...(event.runId === undefined ? {} : { runId: event.runId }),
    ...(event.version === undefined ? {} : { version: event.version }),
    plan: planToJson(event.plan),
  };
}
