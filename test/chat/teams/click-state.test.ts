import { describe, expect, it } from 'vitest';
import { createCardUpdateThrottle, createTeamsClickState, RECORDING_NOTICE } from '../../../src/chat/teams/click-state.js';

describe('Teams click state', () => {
  it('sees an activity id once within the hour', () => {
    const state = createTeamsClickState();
    expect(state.firstSighting('act-1', 0)).toBe(true);
    expect(state.firstSighting('act-1', 59 * 60_000)).toBe(false);
    expect(state.firstSighting('act-2', 1)).toBe(true);
    expect(state.firstSighting('act-1', 61 * 60_000)).toBe(true);
  });

  it('keeps a clicker\'s outcome per case and stage: "recording" until settled, then the outcome for two minutes', () => {
    const state = createTeamsClickState();
    state.votePending('aad-bob', 7, 'approval');
    expect(state.noticeFor('aad-bob', 7, 'approval', 10 * 60_000)).toEqual(RECORDING_NOTICE);
    expect(state.noticeFor('aad-bob', 7, 'pilot_signoff', 0)).toBeNull();
    expect(state.noticeFor('aad-alice', 7, 'approval', 0)).toBeNull();
    state.voteSettled('aad-bob', 7, 'approval', { text: 'Recorded: you approved.', tone: 'good' }, 1_000);
    expect(state.noticeFor('aad-bob', 7, 'approval', 120_999)).toEqual({ text: 'Recorded: you approved.', tone: 'good' });
    expect(state.noticeFor('aad-bob', 7, 'approval', 121_000)).toBeNull();
  });

  it('reads the approvers\' refresh list at most every ten seconds', async () => {
    const state = createTeamsClickState();
    let reads = 0;
    const read = async () => [`29:user-${++reads}`];
    expect(await state.approverUserIds(read, 0)).toEqual(['29:user-1']);
    expect(await state.approverUserIds(read, 9_999)).toEqual(['29:user-1']);
    expect(await state.approverUserIds(read, 10_000)).toEqual(['29:user-2']);
  });
});

describe('card update throttle', () => {
  it('runs the first update at once and collapses later ones within the spacing into one', async () => {
    const runs: string[] = [];
    const pushed: (() => Promise<void>)[] = [];
    const throttle = createCardUpdateThrottle(30, (_key, task) => {
      pushed.push(task);
      void task();
    });
    throttle.schedule('card:a', async () => void runs.push('a1'));
    throttle.schedule('card:a', async () => void runs.push('a2'));
    throttle.schedule('card:a', async () => void runs.push('a3'));
    throttle.schedule('card:b', async () => void runs.push('b1'));
    expect(runs).toEqual(['a1', 'b1']);
    await throttle.settled();
    // The waiting updates collapsed into the last one, which ran after the spacing.
    expect(runs).toEqual(['a1', 'b1', 'a3']);
    expect(pushed).toHaveLength(3);
  });
});
