import type { Ordering } from './index.js';

export function compareDebianVersions(a: string, b: string): Ordering {
  void a;
  void b;
  throw new Error('compareDebianVersions: not implemented yet');
}
