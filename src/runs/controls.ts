import type { ThreadStore } from '../store/thread-store.js';
import type { AccessPolicy } from './access-policy.js';

export type ControlKind = 'stop' | 'continue' | 'approve';

/** Who pressed a thread's button. */
export interface Presser {
  user: string;
  /** The presser's organisation (Slack Connect users come from another one). */
  team?: string;
  /** Asked only when it matters (approvals without ALLOW_LINK_USERS). */
  isWorkspaceAdmin: () => Promise<boolean>;
}

export type ControlDecision =
  | { ok: true }
  | {
      ok: false;
      reason: 'unknown-thread' | 'outsider' | 'not-allowed' | 'repo-not-allowed' | 'not-starter' | 'not-approver';
    };

export interface ControlDeps {
  threads: ThreadStore;
  access: AccessPolicy;
  /** The app's own organisation. */
  appTeam: () => string | undefined;
}

/**
 * Whether a person may press a thread's button: the same checks as a message (organisation,
 * ALLOW_RUN_USERS, the thread's repos still allowed) plus the button's own rule: Continue and Retry
 * for the person who started the thread (or ALLOW_RUN_USERS), an approval for approvers only.
 */
export async function mayControl(
  deps: ControlDeps,
  kind: ControlKind,
  thread: { channel: string; threadTs: string },
  presser: Presser,
): Promise<ControlDecision> {
  const state = await deps.threads.get(thread.channel, thread.threadTs);
  if (!state) return { ok: false, reason: 'unknown-thread' };
  if (deps.access.isOutsider(presser.team, deps.appTeam())) return { ok: false, reason: 'outsider' };
  if (kind === 'approve') {
    if (!deps.access.mayApprove(presser.user, await presser.isWorkspaceAdmin())) {
      return { ok: false, reason: 'not-approver' };
    }
  } else if (!deps.access.mayRun(presser.user)) {
    return { ok: false, reason: 'not-allowed' };
  }
  if (state.repos.some((r) => !deps.access.repoAllowed(r.repo))) return { ok: false, reason: 'repo-not-allowed' };
  if (kind === 'continue' && !deps.access.mayContinue(presser.user, state.startedBy)) {
    return { ok: false, reason: 'not-starter' };
  }
  return { ok: true };
}
