import { recordChange, type WorkflowContext } from './context.js';

export interface SignInAttempt {
  /** The Patchdeck person signed in, or null when the identity was refused. */
  personId: string | null;
  method: 'demo' | 'oidc';
  /** The provider's `sub` and email (oidc). */
  subject?: string;
  email?: string | null;
  /** Why it was refused (code and words), for refusals only. */
  refusal?: { code: string; reason: string };
  /** A sign-in forced for a critical vote (prompt=login). */
  reauth?: boolean;
}

/**
 * Audits a web console sign-in or a refused one: who (person or provider identity), how and why not.
 * Sessions themselves live in signed cookies, so the audit event is the only row written.
 */
export async function recordWebSignIn(ctx: WorkflowContext, attempt: SignInAttempt): Promise<void> {
  const identity = attempt.personId ?? (attempt.subject !== undefined ? `oidc:${attempt.subject.slice(0, 200)}` : 'unknown');
  const after = {
    method: attempt.method,
    ...(attempt.subject === undefined ? {} : { subject: attempt.subject.slice(0, 200) }),
    ...(attempt.email === undefined ? {} : { email: attempt.email === null ? null : attempt.email.slice(0, 200) }),
    ...(attempt.reauth ? { reauth: true } : {}),
    ...(attempt.refusal ? { code: attempt.refusal.code, reason: attempt.refusal.reason } : {}),
  };
  await ctx.store.transaction((trx) =>
    recordChange(trx, ctx, {
      audit: [{ actor: attempt.personId ?? identity, action: attempt.refusal ? 'web.signin.refused' : 'web.signin', subjectType: 'person', subjectId: identity, after }],
    }),
  );
  ctx.logger.info({ person: attempt.personId, method: attempt.method, refused: attempt.refusal?.code ?? null }, attempt.refusal ? 'web console sign-in refused' : 'web console sign-in');
}
