import { ConfigError } from '../shared/node/config';
import { InputValidationError } from '../shared/contract/validation';
import { TemporalUnreachableError } from './connection';
import { DecisionRefusedError, RunAlreadyExistsError, RunNotFoundError } from './delivery';

/** Exit codes scripts can rely on (also listed in the README). */
export const EXIT = {
  ok: 0,
  failure: 1,
  invalidInput: 2,
  notFound: 3,
  refused: 4,
  unreachable: 5,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof InputValidationError || error instanceof ConfigError || error instanceof RunAlreadyExistsError) {
    return EXIT.invalidInput;
  }
  if (error instanceof RunNotFoundError) return EXIT.notFound;
  if (error instanceof DecisionRefusedError) return EXIT.refused;
  if (error instanceof TemporalUnreachableError) return EXIT.unreachable;
  return EXIT.failure;
}
