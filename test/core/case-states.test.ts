import { describe, expect, it } from 'vitest';
import { canTransition, isCaseState, nextCaseStates, transitionCase, transitionPath } from '../../src/core/case-states.js';
import { PatchdeckError } from '../../src/core/errors.js';
import { CASE_STATES } from '../../src/core/types.js';

describe('case state machine', () => {
  it('walks the happy path from approval to review', () => {
    const path = ['awaiting_approval', 'approved', 'piloting', 'pilot_signed_off', 'deploying', 'completed', 'reviewed'] as const;
    for (let i = 1; i < path.length; i++) expect(transitionCase(path[i - 1]!, path[i]!)).toBe(path[i]);
  });

  it('refuses illegal moves with PD_CASE_TRANSITION naming both states', () => {
    for (const [from, to] of [
      ['rejected', 'deploying'],
      ['awaiting_approval', 'piloting'],
      ['piloting', 'deploying'],
      ['completed', 'approved'],
      ['approved', 'approved'],
    ] as const) {
      expect(canTransition(from, to)).toBe(false);
      try {
        transitionCase(from, to);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(PatchdeckError);
        expect((error as PatchdeckError).code).toBe('PD_CASE_TRANSITION');
        expect((error as PatchdeckError).message).toContain(`"${from}"`);
        expect((error as PatchdeckError).message).toContain(`"${to}"`);
      }
    }
  });

  it('knows every state, and final states lead nowhere', () => {
    for (const state of CASE_STATES) {
      expect(isCaseState(state)).toBe(true);
      for (const next of nextCaseStates(state)) expect(CASE_STATES).toContain(next);
    }
    expect(isCaseState('bogus')).toBe(false);
    expect(nextCaseStates('reviewed')).toEqual([]);
    expect(() => transitionCase('reviewed', 'completed')).toThrow(/final/);
  });

  it('can reach every state from "identified"', () => {
    const seen = new Set<string>(['identified']);
    const queue: (typeof CASE_STATES)[number][] = ['identified'];
    while (queue.length > 0) {
      for (const next of nextCaseStates(queue.shift()!)) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    expect([...seen].sort()).toEqual([...CASE_STATES].sort());
  });

  it('checks each step of a path through intermediate states', () => {
    expect(transitionPath('piloting', ['pilot_signed_off'], 'deploying')).toEqual(['pilot_signed_off', 'deploying']);
    expect(transitionPath('deploying', ['deploying'], 'completed')).toEqual(['completed']);
    expect(() => transitionPath('piloting', ['deploying'], 'completed')).toThrow(/"piloting" cannot move to "deploying"/);
  });
});
