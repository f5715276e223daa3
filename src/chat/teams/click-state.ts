import type { VoteStage } from '../../core/types.js';

/**
 * What the Teams face remembers between an invoke and the work it queued, in this process only.
 *
 * A vote is answered before it is counted, so the clicker learns the outcome later: when the card is
 * updated, Teams asks again for their own view of it (a card refresh), and that answer carries the
 * outcome kept here. Activity ids seen recently let a replayed invoke be refused at once, with a
 * visible reason; castVote's receipt in the database catches a replay this process did not see.
 */
export interface ClickNotice {
  text: string;
  tone: 'attention' | 'good';
}

/** How long a clicker's outcome is shown on their refreshed card. */
const NOTICE_KEPT_MS = 2 * 60 * 1000;
/** Bot Framework tokens live about an hour; an invoke replayed later is refused by its token. */
const SEEN_KEPT_MS = 60 * 60 * 1000;
/** Bounds on memory: past these, the oldest entries go first. */
const MAX_NOTICES = 10_000;
const MAX_SEEN = 100_000;

export interface TeamsClickState {
  /** True the first time an activity id is offered (within the hour), false for a replay. */
  firstSighting(activityId: string, nowMs: number): boolean;
  /** The clicker's vote at `stage` of `caseId` is queued; a refresh meanwhile says so. */
  votePending(aadObjectId: string, caseId: number, stage: VoteStage): void;
  voteSettled(aadObjectId: string, caseId: number, stage: VoteStage, notice: ClickNotice, nowMs: number): void;
  noticeFor(aadObjectId: string, caseId: number, stage: VoteStage, nowMs: number): ClickNotice | null;
  /** The Teams user id (MRI) last stored for an Entra object id, so it is written only when it changes. */
  readonly knownUsers: Map<string, string>;
  /** The approvers' Teams user ids (a card's refresh list), read at most every few seconds. */
  approverUserIds(read: () => Promise<string[]>, nowMs: number): Promise<string[]>;
}

/** A new approver's client starts refreshing cards this long after the bot first heard from them, at most. */
const APPROVERS_KEPT_MS = 10_000;

export const RECORDING_NOTICE: ClickNotice = { text: 'Recording your vote…', tone: 'good' };

function trim<K, V>(map: Map<K, V>, max: number): void {
  // Maps iterate in insertion order: the first keys are the oldest.
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

export function createTeamsClickState(): TeamsClickState {
  const seen = new Map<string, number>();
  const notices = new Map<string, { notice: ClickNotice; until: number | null }>();
  let approvers: { ids: string[]; until: number } | null = null;
  const key = (aad: string, caseId: number, stage: VoteStage) => `${aad}\u0000${caseId}\u0000${stage}`;
  return {
    firstSighting(activityId, nowMs) {
      const until = seen.get(activityId);
      if (until !== undefined && until > nowMs) return false;
      seen.delete(activityId);
      seen.set(activityId, nowMs + SEEN_KEPT_MS);
      trim(seen, MAX_SEEN);
      return true;
    },
    votePending(aad, caseId, stage) {
      const k = key(aad, caseId, stage);
      notices.delete(k);
      notices.set(k, { notice: RECORDING_NOTICE, until: null });
      trim(notices, MAX_NOTICES);
    },
    voteSettled(aad, caseId, stage, notice, nowMs) {
      const k = key(aad, caseId, stage);
      notices.delete(k);
      notices.set(k, { notice, until: nowMs + NOTICE_KEPT_MS });
      trim(notices, MAX_NOTICES);
    },
    noticeFor(aad, caseId, stage, nowMs) {
      const entry = notices.get(key(aad, caseId, stage));
      if (entry === undefined) return null;
      if (entry.until !== null && entry.until <= nowMs) {
        notices.delete(key(aad, caseId, stage));
        return null;
      }
      return entry.notice;
    },
    knownUsers: new Map(),
    async approverUserIds(read, nowMs) {
      if (approvers !== null && approvers.until > nowMs) return approvers.ids;
      const ids = await read();
      approvers = { ids, until: nowMs + APPROVERS_KEPT_MS };
      return ids;
    },
  };
}

/**
 * Updates of one card at most once per `spacingMs`: the first runs at once, later ones wait for the
 * spacing and collapse into one, which renders the state as it is when it runs. Teams throttles
 * message updates, and a busy card gains nothing from one update per click.
 */
export interface CardUpdateThrottle {
  schedule(key: string, task: () => Promise<void>): void;
  /** Resolves once no update is waiting for its turn (tests, shutdown); then drain the work queue. */
  settled(): Promise<void>;
}

export function createCardUpdateThrottle(spacingMs: number, push: (key: string, task: () => Promise<void>) => void): CardUpdateThrottle {
  const cooling = new Map<string, { again: (() => Promise<void>) | null }>();
  let waiters: (() => void)[] = [];
  const anyWaiting = () => [...cooling.values()].some((entry) => entry.again !== null);
  const run = (key: string, task: () => Promise<void>) => {
    cooling.set(key, { again: null });
    push(key, task);
    const timer = setTimeout(() => {
      const again = cooling.get(key)?.again ?? null;
      cooling.delete(key);
      if (again !== null) run(key, again);
      if (!anyWaiting()) {
        const wake = waiters;
        waiters = [];
        for (const resolve of wake) resolve();
      }
    }, spacingMs);
    // A waiting update is not worth keeping the process alive for: a recorded vote's chat.update job covers it.
    timer.unref();
  };
  return {
    schedule(key, task) {
      const entry = cooling.get(key);
      if (entry !== undefined) entry.again = task;
      else run(key, task);
    },
    async settled() {
      while (anyWaiting()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
