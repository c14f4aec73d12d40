/**
 * The fake's script: steps in the order `POST /responses` consumes them, grouped by the `script()` / `enqueue()`
 * call that added them, so a step error or a leftover step names the script it belongs to.
 */
import type { Step } from './types.js';

export interface StepError {
  /** `fake.requests` index of the request whose step threw. */
  requestIndex: number;
  /** Label of the script the step belonged to. */
  script: string;
  error: unknown;
}

/** What `script()` / `enqueue()` return: the steps they added, and what became of them. */
export interface ScriptHandle {
  readonly label: string;
  /** Steps of this script not consumed yet. */
  remaining(): number;
  /** Errors thrown by this script's step functions. */
  readonly errors: readonly StepError[];
  /** Throws if a step of this script is left or threw. */
  assertDone(): void;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function describeStepError({ script, requestIndex, error }: StepError): string {
  return `${script}: step for request #${requestIndex} threw: ${describeError(error)}`;
}

export class Script implements ScriptHandle {
  readonly errors: StepError[] = [];
  readonly #steps: Step[];

  constructor(
    readonly label: string,
    steps: Step[],
  ) {
    this.#steps = [...steps];
  }

  remaining(): number {
    return this.#steps.length;
  }

  shift(): Step | undefined {
    return this.#steps.shift();
  }

  drop(): void {
    this.#steps.length = 0;
  }

  /** `<label>: n scripted step(s) not consumed`, or nothing. */
  leftover(): string[] {
    return this.#steps.length > 0 ? [`${this.label}: ${this.#steps.length} scripted step(s) not consumed`] : [];
  }

  assertDone(): void {
    const problems = [...this.leftover(), ...this.errors.map(describeStepError)];
    if (problems.length > 0) throw new Error(`openai fake: ${problems.join('; ')}`);
  }
}

/** Steps across scripts, first in first out. */
export class ScriptQueue {
  #scripts: Script[] = [];
  #count = 0;

  add(steps: Step[], label?: string): Script {
    this.#count += 1;
    const script = new Script(label ?? `script #${this.#count}`, steps);
    this.#scripts.push(script);
    return script;
  }

  /** The next step and the script it came from, or undefined when every script is used up. */
  next(): { step: Step; script: Script } | undefined {
    for (const script of this.#scripts) {
      const step = script.shift();
      if (step !== undefined) return { step, script };
    }
    return undefined;
  }

  remaining(): number {
    return this.#scripts.reduce((sum, script) => sum + script.remaining(), 0);
  }

  /** One line per script with steps left. */
  leftovers(): string[] {
    return this.#scripts.flatMap((script) => script.leftover());
  }

  /** Drops every script (their leftover steps and errors); handles held by tests keep what they saw. */
  clear(): void {
    for (const script of this.#scripts) script.drop();
    this.#scripts = [];
  }
}
