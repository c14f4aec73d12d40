import type { CiFixAttempt } from '../agent/events.js';
import type { QueuedMessage } from '../store/thread-store.js';

/**
 * The words of a CI fix attempt, shared by the CI loop that writes them into the thread's next input and
 * the runner that finds them there again to tell the status card (a queued message has no other field for it).
 */

/** Marks a queued message the CI loop submitted: `ci-<sha>-<attempt>`. */
export const CI_TS_PREFIX = 'ci-';

/** `checks failed: test (ubuntu) — fixing, attempt 1/2`: the thread's notice and the first line of the input. */
export function ciAttemptLine(attempt: CiFixAttempt): string {
  return `checks failed: ${attempt.failed} — fixing, attempt ${attempt.attempt}/${attempt.max}`;
}

const LINE = /^checks failed: (.+) — fixing, attempt (\d+)\/(\d+)$/;

/** The attempt a queued message of the CI loop stands for; undefined for any other message. */
export function ciAttemptOf(message: Pick<QueuedMessage, 'ts' | 'text'>): CiFixAttempt | undefined {
  if (!message.ts.startsWith(CI_TS_PREFIX)) return undefined;
  const match = LINE.exec(message.text.split('\n', 1)[0] ?? '');
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { failed: match[1], attempt: Number(match[2]), max: Number(match[3]) };
}
