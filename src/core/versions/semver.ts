import type { Ordering } from './index.js';

export function compareSemverVersions(a: string, b: string): Ordering {
  void a;
  void b;
  throw new Error('compareSemverVersions: not implemented yet');
}
