import type { Ordering } from './index.js';

export function comparePep440Versions(a: string, b: string): Ordering {
  void a;
  void b;
  throw new Error('comparePep440Versions: not implemented yet');
}
