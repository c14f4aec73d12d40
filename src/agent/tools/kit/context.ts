import type { PullRequestInfo } from '../../../github/pull-requests.js';
import type { Workspace } from '../../../sandbox/workspace.js';

export interface ToolLimits {
  commandTimeoutSeconds: number;
  outputMaxChars: number;
}

/** What a tool may use. Tools never see Slack, the store or a credential. */
export interface ToolContext {
  /** The workspace of a linked repo (the only one, or the one named); waits until it is ready. */
  workspace(repo: string | null | undefined): Promise<Workspace>;
  /** Publishes the thread's branch to GitHub and opens or updates its pull request. */
  publish(workspace: Workspace, request: { title: string; body: string }): Promise<PullRequestInfo>;
  limits: ToolLimits;
  signal: AbortSignal;
}
