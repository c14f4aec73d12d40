import type { RunEvent } from '../agent/events.js';

/** Where a run's events go (the Slack reporter in production). */
export interface RunReporter {
  handle(event: RunEvent): void;
  /** Resolves when everything handed so far has been delivered. */
  flush(): Promise<void>;
}

/** Facts about a thread that live in the chat tool, looked up once per run. */
export interface ThreadInfo {
  permalink?: string;
  /** The requester's display name, when the chat tool gave it. */
  requesterName?: string;
  /** Where the request came from, as the PR and the commit trailer name it; Slack unless said. */
  surface?: 'slack' | 'terminal';
}
