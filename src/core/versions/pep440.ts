import { compare, valid } from '@renovatebot/pep440';
import { invalidVersion, type Ordering } from './index.js';

/**
 * PEP 440 ordering (Python packaging's `Version`) through @renovatebot/pep440. It takes the
 * spellings PEP 440 normalises (`1.0-post1`, `1.0.RC1`, `v1.0`); surrounding whitespace is ignored
 * as PEP 440 and packaging do (the library alone would refuse it). Known limit of the library:
 * release numbers become JavaScript numbers, so two segments longer than 15 digits that differ only
 * past that precision compare equal.
 */
export function comparePep440Versions(a: string, b: string): Ordering {
  const order = compare(checkPep440(a), checkPep440(b));
  return order < 0 ? -1 : order > 0 ? 1 : 0;
}

function checkPep440(version: string): string {
  const trimmed = version.trim();
  if (valid(trimmed) === null) throw invalidVersion('pep440', version, 'expected a PEP 440 version such as 1.2, 2!1.0rc1 or 1.0.post2.dev3+local');
  return trimmed;
}
