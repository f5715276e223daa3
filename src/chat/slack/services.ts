import { castVote, deferCase } from '../../workflow/approvals.js';
import type { WorkflowContext } from '../../workflow/context.js';
import type { WorkQueue } from './work-queue.js';

/**
 * The workflow services the Slack face calls on a user's behalf. Passed in, so a test can slow one
 * down (to prove the HTTP answer never waits for it) without patching modules.
 */
export interface SlackServices {
  castVote: typeof castVote;
  deferCase: typeof deferCase;
}

export const WORKFLOW_SERVICES: SlackServices = { castVote, deferCase };

/** What the face's listeners share: the workflow, the services they call and the queue their work runs in. */
export interface SlackHandlerDeps {
  ctx: WorkflowContext;
  services: SlackServices;
  work: WorkQueue;
}
