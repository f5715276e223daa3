import calculator from 'ae-cvss-calculator';
import type { CvssFacts } from '../../core/types.js';

/** A parsed CVSS vector, as far as Patchdeck uses it. */
interface ParsedVector {
  getVectorName(): string;
  isBaseFullyDefined(): boolean;
  calculateScores(): { base?: number; overall: number };
}

/** Base score of a CVSS 2.0, 3.0, 3.1 or 4.0 vector; null when the vector is unreadable or incomplete. */
export function cvssBaseScore(vector: string): number | null {
  let parsed: ParsedVector | null;
  try {
    // fromVector is declared as returning `any`; the interface above is the part we rely on.
    parsed = calculator.fromVector(vector.trim()) as ParsedVector | null;
  } catch {
    return null;
  }
  if (!parsed || !parsed.isBaseFullyDefined()) return null;
  const scores = parsed.calculateScores();
  const score = scores.base ?? scores.overall;
  return Number.isFinite(score) ? score : null;
}

/** Version preference when one record carries several vectors: v3 first (what most policies use), then v4, then v2. */
function versionRank(vector: string): number {
  if (vector.startsWith('CVSS:3.')) return 0;
  if (vector.startsWith('CVSS:4.')) return 1;
  return 2;
}

/**
 * Picks one score for a record from all its vectors: the preferred CVSS version, and the highest
 * base score within it. A vector that cannot be scored is kept only when nothing scores.
 */
export function pickCvss(vectors: string[]): CvssFacts | null {
  const scored = vectors
    .map((vector) => ({ vector: vector.trim(), score: cvssBaseScore(vector) }))
    .filter((v) => v.vector !== '');
  if (scored.length === 0) return null;
  const usable = scored.filter((v) => v.score !== null);
  if (usable.length === 0) return { score: null, vector: scored[0]!.vector };
  usable.sort((a, b) => versionRank(a.vector) - versionRank(b.vector) || b.score! - a.score!);
  return { score: usable[0]!.score, vector: usable[0]!.vector };
}
