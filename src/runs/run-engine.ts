import type { QueuedMessage, ThreadRepo, ThreadState } from '../store/thread-store.js';

export interface NewThread {
  startedBy: string;
  repos: Array<Omit<ThreadRepo, 'sandboxId' | 'sandboxProvider' | 'published' | 'pr'>>;
  /** `budget=`, `model=`, `effort=` from the mention. */
  settings?: ThreadState['settings'];
}

export type SubmitResult = 'started' | 'queued' | 'unknown-thread';
export type ResumeResult = SubmitResult | 'not-paused';
export type ApproveResult = SubmitResult | 'not-waiting' | 'already-approved';

/**
 * What intake and the buttons need from whoever runs threads: one run per thread at a time, messages
 * that arrive during a run reach the model at its next step. `LocalRunEngine` (coordinator.ts) does it in
 * this process; `RestateRunEngine` (restate-engine.ts) through a Restate server shared by several instances.
 */
export interface RunEngine {
  /**
   * Hands a message to a thread: creates the thread when `newThread` is given and it does not exist
   * yet, queues the message, and starts a run unless one is going. `beforeStart` runs after the message
   * is stored and before the run starts (the first thread reply).
   */
  submit(
    channel: string,
    threadTs: string,
    message: QueuedMessage,
    newThread?: NewThread,
    beforeStart?: () => Promise<unknown>,
  ): Promise<SubmitResult>;
  /** Continues a thread paused on its budget (or interrupted), with a fresh budget of the same size. */
  resume(channel: string, threadTs: string, user: string): Promise<ResumeResult>;
  /** Records a person's approval of the gated changes the fingerprint names and goes on. */
  approve(channel: string, threadTs: string, fingerprint: string, user: string): Promise<ApproveResult>;
  /** Stops the thread's run wherever it runs; false when nothing was running. */
  stop(channel: string, threadTs: string, user: string): Promise<boolean>;
  /** The thread has a run going (on this instance, for the local engine). */
  isRunning(channel: string, threadTs: string): boolean;
  /** Waits for every run this instance is working on (tests, shutdown). */
  idle(): Promise<void>;
  /** Shutdown: ends the runs of this instance so that they are picked up again. */
  shutdown(): void;
}

/**
 * Records a person's approval of the gated changes the fingerprint names, inside a mutate of the
 * thread's record: the approval is kept and the model is told to publish at its next turn.
 */
export function recordApproval(
  state: ThreadState,
  fingerprint: string,
  user: string,
  ts: string,
): 'recorded' | 'not-waiting' | 'already-approved' {
  const repo = state.repos.find((r) => r.pendingApproval?.fingerprint === fingerprint);
  if (!repo?.pendingApproval) {
    return state.repos.some((r) => r.approvals?.includes(fingerprint)) ? 'already-approved' : 'not-waiting';
  }
  const files = repo.pendingApproval.files.join(', ');
  repo.approvals = [...(repo.approvals ?? []), fingerprint];
  repo.pendingApproval = undefined;
  state.queued.push({
    user,
    text: `I approve publishing the changes to ${files} in ${repo.repo}. Publish the work now with make_pull_request.`,
    ts,
  });
  return 'recorded';
}

/** A thread's record as its first message creates it: idle until the engine marks it running. */
export function newThreadState(channel: string, threadTs: string, thread: NewThread): ThreadState {
  const now = new Date().toISOString();
  return {
    channel,
    threadTs,
    startedBy: thread.startedBy,
    repos: thread.repos.map((r) => ({ ...r })),
    ...(thread.settings ? { settings: { ...thread.settings } } : {}),
    status: 'idle',
    queued: [],
    pendingInput: [],
    createdAt: now,
    updatedAt: now,
  };
}
