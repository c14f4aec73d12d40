import { z } from 'zod';
import type { RunEvent } from '../../src/agent/events.js';
import type { FunctionCall, InputItem, Model, ModelRequest, ModelTurn } from '../../src/agent/model.js';
import type { ToolContext } from '../../src/agent/tools/kit/context.js';
import { defineTool, type Tool } from '../../src/agent/tools/kit/define-tool.js';
import type { Config } from '../../src/config/config.js';
import { createRedactor } from '../../src/lib/redact.js';
import type { RunReporter } from '../../src/runs/ports.js';
import type { RunnerDeps } from '../../src/runs/thread-runner.js';
import type { Sandbox, SandboxProvider, SandboxSpec } from '../../src/sandbox/sandbox.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { SandboxRegistry } from '../../src/store/sandbox-registry.js';
import { ThreadStore } from '../../src/store/thread-store.js';
import { captureLogger } from './logger.js';

/**
 * Fakes of our own ports (Model, KeyValueStore, RunReporter, ToolContext) for unit tests of the core.
 * Flows never use these: they drive the real SDKs against the loopback fakes in test/fakes.
 */

/** One scripted model turn: what the request must look like is checked by the step itself. */
export type ModelStep = (request: ModelRequest) => ModelTurn | Promise<ModelTurn>;

/**
 * A Model that answers each request with the next scripted step. A request with no step left, or a step
 * left over at the end (`assertDone`), is a failure of the test that caused it, not of the next one.
 */
export class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  readonly conversations: Array<Record<string, string>> = [];
  private readonly steps: ModelStep[] = [];
  private responses = 0;

  constructor(steps: ModelStep[] = []) {
    this.steps.push(...steps);
  }

  script(...steps: ModelStep[]): void {
    this.steps.push(...steps);
  }

  async createConversation(metadata: Record<string, string>): Promise<string> {
    this.conversations.push(metadata);
    return `conv_${this.conversations.length}`;
  }

  async respond(request: ModelRequest): Promise<ModelTurn> {
    // A copy: the loop may reuse its arrays.
    this.requests.push({ ...request, input: request.input.map((item) => ({ ...item })) });
    const step = this.steps.shift();
    if (!step) throw new Error(`ScriptedModel: unexpected request #${this.requests.length} (no step left)`);
    return step(request);
  }

  /** What reconcile was asked to fit to each conversation (a resumed run). */
  readonly reconciled: Array<{ conversationId: string; input: InputItem[] }> = [];

  async reconcile(conversationId: string, input: InputItem[]): Promise<InputItem[]> {
    this.reconciled.push({ conversationId, input: input.map((item) => ({ ...item })) });
    return input;
  }

  /** Every text the model was given (instructions and input), for leak checks. */
  seen(): string {
    return this.requests
      .map((r) => [r.instructions, ...r.input.map((i) => (i.type === 'message' ? i.content : i.output))].join('\n'))
      .join('\n');
  }

  assertDone(): void {
    if (this.steps.length > 0) throw new Error(`ScriptedModel: ${this.steps.length} step(s) never ran`);
  }

  nextId(): string {
    this.responses += 1;
    return `resp_${this.responses}`;
  }
}

const ZERO = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

/** A turn that answers in words (ends the loop). */
export function answer(text: string, totalTokens = 10): (request: ModelRequest) => ModelTurn {
  return () => ({ responseId: `resp_text_${text.length}`, calls: [], text, usage: { ...ZERO, totalTokens } });
}

let callCounter = 0;
/** A turn that calls tools; arguments are JSON-encoded unless given as raw text. */
export function calls(
  list: Array<{ name: string; arguments: unknown }>,
  options: { totalTokens?: number; text?: string } = {},
): (request: ModelRequest) => ModelTurn {
  return () => ({
    responseId: `resp_calls_${++callCounter}`,
    calls: list.map(
      (c): FunctionCall => ({
        callId: `call_${++callCounter}`,
        name: c.name,
        arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
      }),
    ),
    text: options.text ?? '',
    usage: { ...ZERO, totalTokens: options.totalTokens ?? 10 },
  });
}

/** The function_call_output items of a request, in order. */
export function outputsOf(request: ModelRequest | undefined): string[] {
  return (request?.input ?? []).flatMap((item) => (item.type === 'function_call_output' ? [item.output] : []));
}

/** A reporter that keeps every event; `flush` resolves at once. */
export class RecordingReporter implements RunReporter {
  readonly events: RunEvent[] = [];
  handle(event: RunEvent): void {
    this.events.push(event);
  }
  async flush(): Promise<void> {}
  ofType<T extends RunEvent['type']>(type: T): Array<Extract<RunEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
  }
}

/** The storage port in memory (no expiry: tests are short). */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'sqlite' as const;
  readonly namespace = 'test';
  readonly data = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    const value = this.data.get(key);
    return value === undefined ? undefined : structuredClone(value);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
  async delete(key: string): Promise<boolean> {
    return this.data.delete(key);
  }
  async setIfAbsent(key: string, value: unknown): Promise<boolean> {
    if (this.data.has(key)) return false;
    this.data.set(key, structuredClone(value));
    return true;
  }
  /** Synchronous between read and write, so atomic as the port requires. */
  async update(key: string, change: (current: unknown) => unknown): Promise<unknown> {
    const current = this.data.get(key);
    const next = change(current === undefined ? undefined : structuredClone(current));
    if (next === undefined) return current;
    this.data.set(key, structuredClone(next));
    return next;
  }
  async sweepExpired(): Promise<number> {
    return 0;
  }
  async keys(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix));
  }
  async close(): Promise<void> {}
}

/** A tool context with no workspace: for tools that never touch one. */
export function bareToolContext(signal: AbortSignal = new AbortController().signal): ToolContext {
  return {
    workspace: () => Promise.reject(new Error('no workspace in this test')),
    publish: () => Promise.reject(new Error('no publishing in this test')),
    limits: { commandTimeoutSeconds: 60, outputMaxChars: 16_000 },
    signal,
  };
}

/** A tool built with the real defineTool, whose behaviour the test gives. */
export function fakeTool(
  name: string,
  run: (args: { value: string }, context: ToolContext) => Promise<{ output: string; ok?: boolean }>,
): Tool {
  return defineTool({
    name,
    description: `test tool ${name}`,
    parameters: z.object({ value: z.string() }),
    summarize: (args) => `${name} ${args.value}`,
    run,
  });
}

/** A promise with its resolve exposed, to order events without sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A port the code under test must not touch in this test: any use fails, naming the port. */
export function unusedPort<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      // Not a thenable: it may sit in a resolved promise.
      if (property === 'then') return undefined;
      throw new Error(`the ${name} port was used (${String(property)}) in a test that does not expect it`);
    },
  });
}

/** A sandbox provider that records what it was asked for and never makes a sandbox. */
export class RecordingSandboxProvider implements SandboxProvider {
  readonly name = 'e2b' as const;
  readonly created: SandboxSpec[] = [];
  readonly connected: Array<{ id: string; timeoutMs: number }> = [];
  async create(spec: SandboxSpec): Promise<Sandbox> {
    this.created.push(spec);
    throw new Error('no sandbox in this test');
  }
  async connect(id: string, timeoutMs: number): Promise<Sandbox | undefined> {
    this.connected.push({ id, timeoutMs });
    return undefined;
  }
  async release(): Promise<boolean> {
    return false;
  }
}

/** The documented defaults (README), for runs driven through port fakes. */
export const DEFAULT_LIMITS: Config['limits'] = {
  maxTurns: 20,
  maxTokens: 4_000_000,
  maxMinutes: 45,
  maxConcurrentRuns: 4,
  commandTimeoutSeconds: 900,
  outputMaxChars: 16_000,
  sandboxIdleMinutes: 30,
  sandboxIdleAction: 'kill',
  ciFixAttempts: 0,
  compactAtInputTokens: 1_000_000,
};

export interface FakeRunnerPorts {
  deps: RunnerDeps;
  store: MemoryKeyValueStore;
  threads: ThreadStore;
  reporter: RecordingReporter;
  provider: RecordingSandboxProvider;
  /** The run's clock (epoch ms); tests move it. */
  clock: { now: number };
  logs: () => string;
}

/**
 * The thread runner's dependencies as fakes of our ports: a scripted model, an in-memory store, a
 * provider that makes no sandbox, a mirror that hands nothing over, a publisher that must not be used.
 */
export function fakeRunnerPorts(model: Model, overrides: Partial<RunnerDeps> = {}): FakeRunnerPorts {
  const store = new MemoryKeyValueStore();
  const log = captureLogger();
  const threads = new ThreadStore(store, log.logger);
  const reporter = new RecordingReporter();
  const provider = new RecordingSandboxProvider();
  const clock = { now: 1_000_000 };
  const deps: RunnerDeps = {
    model,
    tools: [fakeTool('echo', async ({ value }) => ({ output: `echo: ${value}` }))],
    provider,
    mirrors: { handover: () => Promise.reject(new Error('no mirror in this test')) } as never,
    publisher: unusedPort('publisher'),
    threads,
    registry: new SandboxRegistry(store, log.logger),
    limits: DEFAULT_LIMITS,
    githubServerUrl: 'https://github.com',
    logger: log.logger,
    reporterFor: () => reporter,
    redact: createRedactor([]),
    threadInfo: async () => ({}),
    network: { mode: 'open', allowHosts: [] },
    guidance: async () => undefined,
    now: () => clock.now,
    ...overrides,
  };
  return { deps, store, threads, reporter, provider, clock, logs: log.text };
}
