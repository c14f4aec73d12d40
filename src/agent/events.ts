import type { CostTotals, TokenUsage } from './cost.js';

/** One attempt of the CI loop to fix a PR's failed checks. */
export interface CiFixAttempt {
  attempt: number;
  /** CI_FIX_ATTEMPTS. */
  max: number;
  /** The failed checks' names, e.g. `test (ubuntu), lint`. */
  failed: string;
}

/**
 * What a run tells the outside world. The loop emits these; the Slack reporter (or a test,
 * or a CLI) turns them into something a person reads. Nothing here knows Slack.
 */
export type RunEvent =
  | {
      type: 'run-start';
      repo: string;
      baseBranch: string;
      branch: string;
      /** What the run was asked, in a person's words (a title for the card and the agent session). */
      task?: string;
      /** The run is the CI loop's attempt to fix failed checks (shown on the card). */
      ciAttempt?: CiFixAttempt;
    }
  | { type: 'sandbox-ready'; repo: string; sandboxId: string; reused: boolean; note?: string }
  | { type: 'action-start'; id: string; tool: string; summary: string }
  | { type: 'action-end'; id: string; tool: string; action: ActionReport }
  | { type: 'model-text'; text: string }
  /** Something a person should know that is not an action (work lost with a sandbox, a new PR …). */
  | { type: 'notice'; text: string }
  | { type: 'usage'; turns: number; inputTokens: number; outputTokens: number; totalTokens: number }
  | { type: 'run-end'; outcome: RunOutcome }
  /** The settings this run goes with (after channel defaults and the mention's options); for the status card. */
  | {
      type: 'run-settings';
      model: string;
      effort: string;
      budgetDollars: number;
      /** Whether the repo's guidance file (AGENTS.md …) was found; absent when it was given in an earlier run. */
      guidanceFound?: boolean;
    }
  /** One model request's tokens and dollars, and the run's totals after it (also sent when sandbox time is added). */
  | {
      type: 'cost';
      model: string;
      /** Absent when only sandbox time was added. */
      request?: TokenUsage & { dollars: number; longContext: boolean };
      totals: CostTotals;
    }
  /** The conversation was compacted to keep requests under the input threshold. */
  | {
      type: 'compacted';
      /** Input tokens of the last request before compaction. */
      inputTokensBefore: number;
      /** Set when the thread moved to a new OpenAI Conversation seeded with the compacted items. */
      conversationId?: string;
    };

/** Status of one item of the model's checklist (the words of Slack's task cards). */
export type PlanItemStatus = 'pending' | 'in_progress' | 'complete' | 'error';

export interface PlanItem {
  title: string;
  status: PlanItemStatus;
}

/** One sandbox action as a person should see it. */
export type ActionReport =
  | { kind: 'file-written'; path: string; bytes: number; added: number; removed: number; created: boolean }
  | { kind: 'file-edited'; path: string; added: number; removed: number }
  | { kind: 'directory-created'; path: string; existed: boolean }
  | { kind: 'file-read'; path: string; lines: string }
  | { kind: 'files-listed'; path: string; count: number }
  | { kind: 'code-searched'; pattern: string; matches: number }
  | {
      kind: 'command';
      command: string;
      exitCode: number;
      durationMs: number;
      timedOut: boolean;
      output: string;
    }
  | { kind: 'commit'; sha: string; message: string; files: number }
  | { kind: 'pull-request'; url: string; number: number; created: boolean; branch: string }
  | { kind: 'failed'; error: string }
  /** The model's checklist as it stands (the whole list each time, from update_plan). */
  | { kind: 'plan'; items: PlanItem[] };

export interface RunTotals {
  turns: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  elapsedMs: number;
  /** Sandbox time this run kept alive (summed over its sandboxes), for cost. */
  sandboxMs: number;
  /** What the run cost (model and sandbox), when it was metered. */
  cost?: CostTotals;
  /** The run's budget in dollars, when it had one. */
  budgetDollars?: number;
  filesChanged: string[];
  commands: Array<{ command: string; exitCode: number; durationMs: number }>;
}

export type RunOutcome =
  | {
      kind: 'pull-request';
      url: string;
      number: number;
      created: boolean;
      summary: string;
      /** Every repo's PR of this run when it touched several (the fields above are the last one). */
      others?: Array<{ repo: string; url: string; number: number; created: boolean }>;
      totals: RunTotals;
    }
  | { kind: 'no-changes'; answer: string; totals: RunTotals }
  | { kind: 'stopped'; by: string | undefined; totals: RunTotals }
  | { kind: 'budget-reached'; limit: BudgetLimit; totals: RunTotals }
  | { kind: 'failed'; reason: string; reference: string; totals: RunTotals }
  /** The bot stopped mid-run (a crash or restart) and left it for a person to retry. */
  | { kind: 'interrupted'; totals: RunTotals }
  /** Publishing waits for a person to approve changes that can run code with the repo's secrets. */
  | { kind: 'awaiting-approval'; repo: string; files: string[]; fingerprint: string; totals: RunTotals };

/** Which of a run's budgets ended it. */
export type BudgetLimit = 'turns' | 'tokens' | 'minutes' | 'dollars';

export type RunEventListener = (event: RunEvent) => void;
