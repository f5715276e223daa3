import { describe, expect, it } from 'vitest';
import { createWorkQueue } from '../../../src/chat/slack/work-queue.js';

describe('createWorkQueue', () => {
  const errors: unknown[] = [];
  const queue = (concurrency = 1, maxPending = 100) => createWorkQueue({ concurrency, maxPending, onError: (e) => errors.push(e) });

  it('gives the event loop a turn between two tasks', async () => {
    const work = queue();
    const log: string[] = [];
    work.push(null, async () => {
      log.push('A');
    });
    work.push(null, async () => {
      log.push('B');
    });
    // Scheduled after A but before B: it runs in between, as a request read from a socket would.
    setImmediate(() => log.push('io'));
    await work.drain();
    expect(log).toEqual(['A', 'io', 'B']);
  });

  it('drops a task whose key is already waiting, but not one whose twin has started', async () => {
    const work = queue();
    const ran: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    expect(work.push('a', async () => {
      ran.push('a1');
      await gate;
    })).toBe('queued');
    expect(work.push('b', async () => void ran.push('b1'))).toBe('queued');
    expect(work.push('b', async () => void ran.push('b2'))).toBe('duplicate');
    await new Promise((resolve) => setImmediate(resolve));
    // a1 has started; another "a" is new work.
    expect(work.push('a', async () => void ran.push('a2'))).toBe('queued');
    release();
    await work.drain();
    expect(ran).toEqual(['a1', 'b1', 'a2']);
  });

  it('refuses work beyond its bound, keeps going after a failing task, and drains', async () => {
    const work = queue(1, 2);
    const ran: number[] = [];
    expect(work.push(null, async () => {
      throw new Error('boom');
    })).toBe('queued');
    expect(work.push(null, async () => void ran.push(2))).toBe('queued');
    // The first task has been taken off the waiting list, so one more fits; the next does not.
    expect(work.push(null, async () => void ran.push(3))).toBe('queued');
    expect(work.push(null, async () => void ran.push(4))).toBe('full');
    await work.drain();
    expect(ran).toEqual([2, 3]);
    expect(errors.map((e) => (e as Error).message)).toContain('boom');
    expect(work.pending).toBe(0);
  });
});
