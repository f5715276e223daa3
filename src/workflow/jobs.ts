import type { ClaimedJob } from '../store/jobs.js';
import type { WorkflowContext } from './context.js';

/**
 * A job handler. Jobs can run twice (a lease can run out mid-way), so every handler must be
 * idempotent: look at the current state before acting.
 */
export type JobHandler = (ctx: WorkflowContext, job: ClaimedJob) => Promise<void>;

export type JobHandlers = Record<string, JobHandler>;

/** Job kinds, in one list so producers and handlers agree on spelling. */
export const JOB_KINDS = {
  feedsPoll: 'feeds.poll',
  /** Match and classify what changed (ids of advisories or hosts) or everything (assess-jobs.ts). */
  assess: 'assess',
  /** An ingested advisory became withdrawn: resolve its exposures, close its cases (withdrawals.ts). */
  advisoryWithdrawn: 'advisory.withdrawn',
  chatPost: 'chat.post',
  chatUpdate: 'chat.update',
  rolloutStart: 'rollout.start',
  rolloutTarget: 'rollout.target',
  rolloutWaveDone: 'rollout.wave_done',
  rolloutResume: 'rollout.resume',
  exemptionsExpire: 'exemptions.expire',
  /** An ended exemption re-opened exposures: tell the case's channel (exemptions.ts). */
  exemptionNotify: 'exemption.notify',
  /** …and the person who approved it, by direct message. */
  exemptionNotifyApprover: 'exemption.notify_approver',
  /** A rollout completed: post its review summary in the case thread and the managers' channel (reviews.ts). */
  reviewPost: 'review.post',
  approvalsExpire: 'approvals.expire',
  approvalsUndefer: 'approvals.undefer',
  approvalsSweep: 'approvals.sweep',
  rebootNotify: 'reboot.notify',
  rebootUpdate: 'reboot.update',
  slaSweep: 'sla.sweep',
  slaEscalatePerson: 'sla.escalate_person',
  digestSend: 'digest.send',
} as const;
