import type { Clock } from '../core/clock.js';

/** The one place production code reads the wall clock. */
export const systemClock: Clock = { now: () => new Date() };
