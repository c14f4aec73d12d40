/**
 * Notices a model that keeps making the same tool call without getting anywhere, so the loop can
 * warn it and, if it does not change course, stop the run before it burns the budget.
 *
 * The loop records every finished tool call, in the order the calls finish, and acts on the verdict.
 *
 * Rules:
 * - Two calls are "the same" when they have the same tool name and the same arguments. Arguments are
 *   normalised first: when they are JSON, object keys are sorted, strings are trimmed and properties
 *   whose value is null are dropped (the tools treat null as "not given"); empty arguments count as
 *   `{}`, as in the loop. Arguments that are not JSON are compared as trimmed raw text.
 * - Only the last `window` calls (default 12) are remembered.
 * - Failing streak: the number of times this call failed in the window since the last call that
 *   succeeded. Any successful call ends every streak; other calls that fail don't end it, so a model
 *   that switches between two failing commands is still caught. When the streak reaches
 *   `maxRepeats - 1` (default 2) the verdict is `warn`: the loop appends the message to that call's
 *   output, telling the model to try something different. When it reaches `maxRepeats` (default 3),
 *   the verdict is `stop`.
 * - Same result: the number of times this call was made in the window and gave exactly this output,
 *   failing or not, even with other calls in between (e.g. reading the same unchanged file over and
 *   over). A changed output means something changed, so an edit → test → edit → test cycle does not
 *   add up here. At `maxRepeats + 1` the verdict is `warn`; at `maxRepeats + 2` it is `stop`.
 * - `stop` wins over `warn`. The `stop` message is a plain sentence meant for the people in the thread.
 *
 * Pure: no I/O or clock, only the calls it is given.
 */

export interface RepetitionGuardOptions {
  /** Failures in a row of the same call that stop the run (default 3, at least 2). */
  maxRepeats?: number;
  /** How many recent calls are remembered (default 12, at least maxRepeats + 2). */
  window?: number;
}

export type GuardVerdict = { kind: 'ok' } | { kind: 'warn'; message: string } | { kind: 'stop'; message: string };

export interface RecordedCall {
  name: string;
  /** Arguments as the model sent them (normally a JSON object). */
  arguments: string;
  /** The output the model reads. */
  output: string;
  /** Output starting with `Error:` or, for run_command, a non-zero exit. */
  failed: boolean;
}

interface Remembered {
  signature: string;
  output: string;
  failed: boolean;
}

const DEFAULT_MAX_REPEATS = 3;
const DEFAULT_WINDOW = 12;
/** Argument names that best tell a person which call it was, most telling first. */
const DESCRIBING_KEYS = ['command', 'pattern', 'path', 'message', 'title'];
const MAX_DESCRIPTION = 80;

export class RepetitionGuard {
  private readonly maxRepeats: number;
  private readonly window: number;
  private readonly recent: Remembered[] = [];

  constructor(options: RepetitionGuardOptions = {}) {
    this.maxRepeats = options.maxRepeats ?? DEFAULT_MAX_REPEATS;
    this.window = options.window ?? DEFAULT_WINDOW;
    if (!Number.isInteger(this.maxRepeats) || this.maxRepeats < 2) {
      throw new RangeError(`maxRepeats must be an integer of at least 2 (got ${this.maxRepeats}).`);
    }
    if (!Number.isInteger(this.window) || this.window < this.maxRepeats + 2) {
      throw new RangeError(`window must be an integer of at least maxRepeats + 2 (got ${this.window}).`);
    }
  }

  /** Records one finished tool call; returns what the loop should do. */
  record(call: RecordedCall): GuardVerdict {
    const parsed = parseArguments(call.arguments);
    const signature = `${call.name}\u0000${parsed.key}`;
    this.recent.push({ signature, output: call.output, failed: call.failed });
    if (this.recent.length > this.window) this.recent.shift();

    let failingStreak = 0;
    if (call.failed) {
      for (let i = this.recent.length - 1; i >= 0; i -= 1) {
        const earlier = this.recent[i];
        if (!earlier?.failed) break;
        if (earlier.signature === signature) failingStreak += 1;
      }
    }
    const sameResult = this.recent.filter((r) => r.signature === signature && r.output === call.output).length;

    const described = `\`${describeCall(call.name, parsed)}\``;
    if (failingStreak >= this.maxRepeats) {
      return {
        kind: 'stop',
        message: `The model repeated the same failing action (${described}) ${failingStreak} times; I stopped the run so it does not waste the budget.`,
      };
    }
    if (sameResult >= this.maxRepeats + 2) {
      return {
        kind: 'stop',
        message: `The model made the same call (${described}) ${sameResult} times with the same result; I stopped the run so it does not waste the budget.`,
      };
    }
    if (failingStreak === this.maxRepeats - 1) {
      return {
        kind: 'warn',
        message:
          `Warning: this exact call (${described}) has now failed ${failingStreak} times in a row. ` +
          'Repeating it will not give a different result: read the error above and try something different ' +
          '(change the code, the arguments or the approach), or explain the problem in your answer. ' +
          'If it fails once more the run will be stopped.',
      };
    }
    if (sameResult === this.maxRepeats + 1) {
      return {
        kind: 'warn',
        message:
          `Warning: you have made this exact call (${described}) ${sameResult} times and got the same result each time. ` +
          'Nothing has changed, so doing it again will not help: use what you already have and move on, ' +
          'or explain the problem in your answer. One more identical call will stop the run.',
      };
    }
    return { kind: 'ok' };
  }
}

interface ParsedArguments {
  /** Normalised form: equal for arguments that mean the same. */
  key: string;
  /** The parsed arguments as sent, or undefined when they are not JSON. */
  value: unknown;
  raw: string;
}

function parseArguments(raw: string): ParsedArguments {
  const text = raw.trim() === '' ? '{}' : raw;
  try {
    const value: unknown = JSON.parse(text);
    return { key: `json:${JSON.stringify(normalise(value))}`, value, raw };
  } catch {
    return { key: `text:${raw.trim()}`, value: undefined, raw };
  }
}

function normalise(value: unknown): unknown {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return value.map(normalise);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== null && item !== undefined) sorted[key] = normalise(item);
    }
    return sorted;
  }
  return value;
}

/** `run_command: npm test`, `read_file: src/a.ts`: short, one line, safe inside backticks. */
function describeCall(name: string, parsed: ParsedArguments): string {
  let detail: string;
  const value = parsed.value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const args = value as Record<string, unknown>;
    const key = DESCRIBING_KEYS.find((k) => typeof args[k] === 'string' && (args[k] as string).trim() !== '');
    detail = key ? String(args[key]) : JSON.stringify(normalise(value));
    if (detail === '{}') detail = '';
  } else {
    detail = value === undefined ? parsed.raw : JSON.stringify(value);
  }
  detail = detail.replace(/\s+/g, ' ').replaceAll('`', "'").trim();
  if (detail.length > MAX_DESCRIPTION) detail = `${detail.slice(0, MAX_DESCRIPTION - 1)}…`;
  return detail === '' ? name : `${name}: ${detail}`;
}
