/**
 * Where the Slack face does the work a click, command or event asks for, after Slack has its answer.
 *
 * Tasks run a few at a time and the queue yields to the event loop between them. That matters on
 * SQLite: its driver is synchronous, so back-to-back transactions chained on promises would never
 * let Node read the next request, and acks would wait behind every vote queued before them. A task
 * with the same key as one still waiting to start is dropped: a double click, or the same refusal
 * again, changes nothing the first one will not. Nothing here is durable; a click lost to a crash
 * leaves the message unchanged and the person clicks again.
 */
export interface WorkQueue {
  /** Queues `task`, or says why it was dropped: a task with the same key is waiting, or the queue is full. */
  push(key: string | null, task: () => Promise<void>): 'queued' | 'duplicate' | 'full';
  /** Resolves once every queued task has finished. */
  drain(): Promise<void>;
  readonly pending: number;
}

export function createWorkQueue(options: { concurrency: number; maxPending: number; onError: (error: unknown) => void }): WorkQueue {
  const waiting: { key: string | null; task: () => Promise<void> }[] = [];
  const waitingKeys = new Set<string>();
  let running = 0;
  let drained: (() => void)[] = [];

  const settleIfIdle = () => {
    if (running > 0 || waiting.length > 0) return;
    const resolvers = drained;
    drained = [];
    for (const resolve of resolvers) resolve();
  };

  const runNext = () => {
    while (running < options.concurrency && waiting.length > 0) {
      const next = waiting.shift()!;
      if (next.key !== null) waitingKeys.delete(next.key);
      running += 1;
      // setImmediate: the task starts after Node has polled for I/O, so requests that arrived are read first.
      setImmediate(() => {
        next
          .task()
          .catch(options.onError)
          .finally(() => {
            running -= 1;
            runNext();
            settleIfIdle();
          });
      });
    }
  };

  return {
    push(key, task) {
      if (key !== null && waitingKeys.has(key)) return 'duplicate';
      if (waiting.length >= options.maxPending) return 'full';
      waiting.push({ key, task });
      if (key !== null) waitingKeys.add(key);
      runNext();
      return 'queued';
    },
    drain() {
      return new Promise<void>((resolve) => {
        drained.push(resolve);
        settleIfIdle();
      });
    },
    get pending() {
      return waiting.length + running;
    },
  };
}
