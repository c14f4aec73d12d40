import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { ControlDecision, Presser } from '../../runs/controls.js';

/** The person who pressed a button, as the runs' access rules need them. */
export function presserOf(body: BlockAction<ButtonAction>, client: WebClient): Presser {
  const team = (body.user as { team_id?: unknown }).team_id;
  return {
    user: body.user.id,
    ...(typeof team === 'string' && team !== '' ? { team } : {}),
    isWorkspaceAdmin: async () => {
      const info = await client.users.info({ user: body.user.id }).catch(() => undefined);
      return info?.user?.is_admin === true || info?.user?.is_owner === true;
    },
  };
}

/** Why a button did nothing, in words for the person who pressed it. */
export function refusalText(decision: Exclude<ControlDecision, { ok: true }>): string {
  switch (decision.reason) {
    case 'unknown-thread':
      return 'I no longer know this thread.';
    case 'outsider':
      return 'Sorry, I only take this from people of this workspace’s own organisation (ALLOW_EXTERNAL_USERS).';
    case 'not-allowed':
      return 'Sorry, you are not on the list of people who may start, steer or stop my work here (ALLOW_RUN_USERS).';
    case 'repo-not-allowed':
      return 'This thread’s repo is no longer on the bot’s list of allowed repos (ALLOW_REPOS), so I left it alone.';
    case 'not-starter':
      return 'Only the person who started this thread (or someone in ALLOW_RUN_USERS) can give it another budget. Reply in the thread instead, or ask them.';
    case 'not-approver':
      return 'Sorry, only the people who may link repos here (ALLOW_LINK_USERS) — or, when that list is empty, the workspace’s admins and owners — can approve this.';
  }
}
