import { describeSla, type Review } from '../core/review.js';

/**
 * The review page's fallback for fields it has no layout for, shown without knowing their shape:
 * objects become labelled fields, lists of like objects become tables, ISO times are marked so the
 * template formats them in the team's zone. Depth and size are bounded so a huge value cannot hang a page.
 */
export type ReviewNode =
  | { kind: 'empty' }
  | { kind: 'text'; value: string }
  | { kind: 'time'; value: string }
  | { kind: 'list'; items: ReviewNode[] }
  | { kind: 'fields'; fields: { label: string; node: ReviewNode }[] }
  | { kind: 'table'; columns: string[]; rows: ReviewNode[][] };

const MAX_DEPTH = 6;
const MAX_ITEMS = 500;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `timeToFix` → "Time to fix", `p95_hours` → "P95 hours". */
export function labelFor(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replaceAll('_', ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function describeReviewValue(value: unknown, depth = 0): ReviewNode {
  if (value === null || value === undefined || value === '') return { kind: 'empty' };
  if (value instanceof Date) return { kind: 'time', value: value.toISOString() };
  if (typeof value === 'string') return ISO_TIME.test(value) ? { kind: 'time', value } : { kind: 'text', value };
  if (typeof value === 'number') return { kind: 'text', value: Number.isInteger(value) ? String(value) : value.toFixed(2) };
  if (typeof value === 'boolean') return { kind: 'text', value: value ? 'yes' : 'no' };
  if (depth >= MAX_DEPTH) return { kind: 'text', value: '…' };
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS);
    if (items.length === 0) return { kind: 'empty' };
    if (items.every(isPlainObject)) {
      const columns = [...new Set(items.flatMap((item) => Object.keys(item)))];
      const allScalar = items.every((item) => Object.values(item).every((v) => !isPlainObject(v) && !Array.isArray(v)));
      if (allScalar && columns.length <= 10) {
        return {
          kind: 'table',
          columns: columns.map(labelFor),
          rows: items.map((item) => columns.map((c) => describeReviewValue(item[c], depth + 1))),
        };
      }
    }
    return { kind: 'list', items: items.map((item) => describeReviewValue(item, depth + 1)) };
  }
  if (isPlainObject(value)) {
    const fields = Object.entries(value)
      .slice(0, MAX_ITEMS)
      .filter(([, v]) => typeof v !== 'function')
      .map(([key, v]) => ({ label: labelFor(key), node: describeReviewValue(v, depth + 1) }));
    return fields.length === 0 ? { kind: 'empty' } : { kind: 'fields', fields };
  }
  return { kind: 'text', value: String(value) };
}

const KNOWN_REVIEW_KEYS: ReadonlySet<string> = new Set([
  'caseId', 'title', 'severity', 'caseState', 'advisory', 'packages', 'timeline', 'approvals', 'signoffs', 'rollout',
  'outcomes', 'rings', 'failedHosts', 'openExposures', 'sla', 'halts', 'lessons', 'generatedAt',
]);

/**
 * What the review page shows. The review comes from another service (and may grow fields): lists are
 * read with a fallback, and any field the page does not know yet is still shown under "More details".
 */
export function describeReviewPage(review: Review) {
  const sla = review.sla ?? null;
  const decisions = [
    ...(review.approvals ?? []).map((d) => ({ ...d, stage: 'approval' })),
    ...(review.signoffs ?? []).map((d) => ({ ...d, stage: 'pilot sign-off' })),
  ];
  const timeline = review.timeline
    ? [
        { label: 'Case opened', at: review.timeline.openedAt },
        { label: 'Decided', at: review.timeline.decidedAt },
        { label: 'Rollout started', at: review.timeline.rolloutStartedAt },
        { label: 'Pilot signed off', at: review.timeline.pilotSignedOffAt },
        { label: 'Rollout ended', at: review.timeline.rolloutEndedAt },
      ]
    : [];
  const extra = Object.fromEntries(Object.entries(review).filter(([key]) => !KNOWN_REVIEW_KEYS.has(key)));
  return {
    review,
    sla: sla ? { text: describeSla(sla), tone: sla.met === true ? 'good' : sla.met === false ? 'bad' : 'wait', dueAt: sla.dueAt } : null,
    failures: review.outcomes ? review.outcomes.failed + review.outcomes.rebootFailed : 0,
    decisions,
    timeline,
    packages: review.packages ?? [],
    rings: review.rings ?? [],
    failedHosts: review.failedHosts ?? [],
    halts: review.halts ?? [],
    lessons: review.lessons ?? [],
    extra: Object.keys(extra).length > 0 ? describeReviewValue(extra) : null,
  };
}
