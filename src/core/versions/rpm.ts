import type { Ordering } from './index.js';

export function compareRpmVersions(a: string, b: string): Ordering {
  void a;
  void b;
  throw new Error('compareRpmVersions: not implemented yet');
}
