import type { Sandbox } from '../../sandbox/sandbox.js';

/** A repo checked out on the thread's branch inside a live sandbox. */
export interface Workspace {
  repo: string;
  sandbox: Sandbox;
  /** Absolute path of the repo root inside the sandbox. */
  root: string;
  branch: string;
  baseBranch: string;
}

export interface PullRequestInfo {
  url: string;
  number: number;
  created: boolean;
  branch: string;
}

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
