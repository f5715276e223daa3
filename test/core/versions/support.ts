import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ordering } from '../../../src/core/versions/index.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/versions');

/** Reads an "A B expected" vector file (comments start with #). */
export function readVectorFile(name: string): [string, string, Ordering][] {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [a, b, expected, ...extra] = line.trim().split(/\s+/);
      if (a === undefined || b === undefined || !['-1', '0', '1'].includes(expected ?? '') || extra.length > 0) {
        throw new Error(`${name}: cannot read vector line "${line}"`);
      }
      return [a, b, Number(expected) as Ordering];
    });
}

/** mulberry32: a small seeded PRNG so generated cases are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Picker {
  chance(p: number): boolean;
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  /** A digit run: mostly short, sometimes with leading zeros, now and then 20-25 digits long. */
  digits(): string;
}

export function picker(seed: number): Picker {
  const random = seededRandom(seed);
  const int = (maxExclusive: number) => Math.floor(random() * maxExclusive);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const run = (length: number) => Array.from({ length }, () => String(int(10))).join('');
  return {
    chance: (p) => random() < p,
    int,
    pick,
    digits: () => {
      const roll = random();
      if (roll < 0.08) return run(20 + int(6));
      if (roll < 0.2) return `0${run(1 + int(2))}`;
      return run(1 + int(3));
    },
  };
}

/**
 * Runs a shell loop over stdin lines and resolves to its stdout lines and stderr. Used to ask the
 * real tools (dpkg, python3-rpm) for their answer; the loop reads data from stdin, so no version
 * string is ever part of a command line the shell parses.
 */
export function runLines(command: string, args: string[], lines: string[]): Promise<{ out: string[]; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${command} exited with ${code}: ${err}`));
      else resolve({ out: out === '' ? [] : out.replace(/\n$/, '').split('\n'), err });
    });
    child.stdin.end(lines.map((line) => `${line}\n`).join(''));
  });
}

/** Splits work into `count` nearly equal batches (run side by side to keep oracle tests quick). */
export function inBatches<T>(items: T[], count: number): T[][] {
  const size = Math.ceil(items.length / count);
  return Array.from({ length: count }, (_, i) => items.slice(i * size, (i + 1) * size)).filter((b) => b.length > 0);
}
