import type { RunEvent } from '../agent/events.js';
import { type CommandRecord, commandKinds, type VerificationInput } from '../github/verification.js';
import { trimOutput } from '../lib/trim-output.js';
import type { ThreadRepo } from '../store/thread-store.js';

/** Output kept per command: the section shows at most 1 500 characters of a tail anyway. */
const OUTPUT_KEEP_CHARS = 2000;
/** Commands kept per thread and repo (the latest result of each is what the section shows). */
const MAX_RECORDS = 40;

/**
 * What the run measured, for the PR's Verification section: every tests/build/lint/type-check command
 * the model ran, with its exit code, duration and output tail, marked `before` while the thread had not
 * changed a file yet. Kept with the thread's repo entry at each publish, so the section adds up the
 * thread's runs.
 */
export class RunVerification {
  private readonly records: CommandRecord[] = [];
  /** How many of `records` went into the repo entry already (a publish retried does not add them twice). */
  private merged = 0;
  private edited: boolean;

  constructor(
    alreadyPublished: boolean,
    /** Kept records are redacted at once: the section is later edited in without the publisher's redaction. */
    private readonly redact: (text: string) => string,
  ) {
    this.edited = alreadyPublished;
  }

  /** Takes every event of the run. */
  observe(event: RunEvent): void {
    if (event.type !== 'action-end') return;
    const action = event.action;
    if (action.kind === 'file-written' || action.kind === 'file-edited') this.edited = true;
    if (action.kind !== 'command' || commandKinds(action.command).length === 0) return;
    this.records.push({
      command: this.redact(action.command),
      exitCode: action.exitCode,
      durationMs: action.durationMs,
      ...(action.timedOut ? { timedOut: true } : {}),
      output: this.redact(trimOutput(action.output, OUTPUT_KEEP_CHARS, { headShare: 0 })),
      phase: this.edited ? 'after' : 'before',
    });
  }

  /** Adds this run's new records to the repo entry (kept by the caller's save) and answers the section's input. */
  mergeInto(entry: ThreadRepo): VerificationInput {
    const fresh = this.records.slice(this.merged);
    this.merged = this.records.length;
    const all = [...(entry.verification ?? []), ...fresh].slice(-MAX_RECORDS);
    entry.verification = all;
    return { commands: all };
  }
}
