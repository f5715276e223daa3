import { PatchdeckError } from './errors.js';
import { CASE_STATES, type CaseState } from './types.js';

/**
 * The case life cycle. A case moves only along these edges; every service that changes a case's
 * state asks `transitionCase` first, so an illegal jump (say, rejected → deploying) is refused in one place.
 */
const TRANSITIONS: Readonly<Record<CaseState, readonly CaseState[]>> = {
  identified: ['assessed', 'not_applicable'],
  assessed: ['awaiting_approval', 'not_applicable', 'mitigated'],
  awaiting_approval: ['approved', 'rejected', 'deferred', 'not_applicable', 'mitigated'],
  deferred: ['awaiting_approval', 'not_applicable', 'mitigated'],
  // `completed` straight from `approved`: nothing was left to patch when the rollout was due to start.
  // `not_applicable`: its advisory was withdrawn before the rollout started (workflow/withdrawals.ts).
  approved: ['testing', 'piloting', 'completed', 'not_applicable'],
  rejected: ['reviewed'],
  testing: ['piloting', 'halted'],
  piloting: ['pilot_signed_off', 'halted'],
  pilot_signed_off: ['deploying', 'halted'],
  deploying: ['verifying', 'completed', 'halted'],
  verifying: ['completed', 'halted'],
  completed: ['reviewed'],
  halted: ['rolled_back', 'reviewed'],
  rolled_back: ['reviewed'],
  reviewed: [],
  not_applicable: [],
  mitigated: [],
};

export function isCaseState(value: string): value is CaseState {
  return (CASE_STATES as readonly string[]).includes(value);
}

export function canTransition(from: CaseState, to: CaseState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function nextCaseStates(from: CaseState): readonly CaseState[] {
  return TRANSITIONS[from];
}

/** Returns `to` when the move is legal; throws PD_CASE_TRANSITION otherwise. */
export function transitionCase(from: CaseState, to: CaseState): CaseState {
  if (!canTransition(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new PatchdeckError(
      'PD_CASE_TRANSITION',
      `a case in state "${from}" cannot move to "${to}"` +
        (allowed.length > 0 ? ` (it can move to: ${allowed.join(', ')})` : ' (it is final)'),
      { status: 409, details: { from, to } },
    );
  }
  return to;
}

/**
 * The legal steps from `from` to `to` through the given intermediate states, e.g.
 * piloting → pilot_signed_off → deploying. Throws on the first illegal step.
 */
export function transitionPath(from: CaseState, via: readonly CaseState[], to: CaseState): CaseState[] {
  const steps: CaseState[] = [];
  let current = from;
  for (const next of [...via, to]) {
    if (next === current) continue;
    current = transitionCase(current, next);
    steps.push(current);
  }
  return steps;
}
