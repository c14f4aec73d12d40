import { randomUUID } from 'node:crypto';
import type { ActionReport, RunEvent, RunOutcome, RunTotals } from '../agent/events.js';
import { buildInstructions, guidanceMessage, type RepoGuidance } from '../agent/instructions.js';
import { type LoopResult, runLoop, type StepRunner } from '../agent/loop.js';
import type { InputItem, Model } from '../agent/model.js';
import type { ToolContext } from '../agent/tools/kit/context.js';
import type { Tool } from '../agent/tools/kit/define-tool.js';
import type { Config } from '../config/config.js';
import type { NetworkPolicy } from '../config/network.js';
import type { RepoMirrors } from '../github/mirror.js';
import { type Publisher, PublishNeedsApproval } from '../github/publisher.js';
import type { SetupScriptResult } from '../github/repo-setup.js';
import { AppError, errorMessage, errorReference } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SandboxProvider } from '../sandbox/sandbox.js';
import { branchBase, commitAll, type Workspace, workspaceChanges } from '../sandbox/workspace.js';
import type { SandboxRegistry } from '../store/sandbox-registry.js';
import type { QueuedMessage, ThreadState, ThreadStore } from '../store/thread-store.js';
import { costFields, type RunCosting, type RunSettings, resolveRunSettings, runMeter } from './budget.js';
import { ciAttemptOf } from './ci-attempt.js';
import type { RunReporter, ThreadInfo } from './ports.js';
import { prFooter, RunPublishing, requesterText } from './publishing.js';
import { RunVerification } from './run-verification.js';
import { linkedSetup, runSetupStep } from './setup-step.js';
import { toUserInput } from './user-input.js';
import { RunWorkspaces } from './workspaces.js';

export interface RunnerDeps {
  model: Model;
  tools: Tool[];
  provider: SandboxProvider;
  mirrors: RepoMirrors;
  publisher: Publisher;
  threads: ThreadStore;
  registry: SandboxRegistry;
  limits: Config['limits'];
  githubServerUrl: string;
  logger: Logger;
  reporterFor: (channel: string, threadTs: string) => RunReporter;
  redact: (text: string) => string;
  threadInfo: (channel: string, threadTs: string, user: string) => Promise<ThreadInfo>;
  /** What sandboxes may reach; the model is told. */
  network: NetworkPolicy;
  /** A repo's guidance file read from its base branch on GitHub (never from the sandbox). */
  guidance: (
    repo: string,
    baseBranch: string,
    signal: AbortSignal,
  ) => Promise<Omit<RepoGuidance, 'repo' | 'baseBranch'> | undefined>;
  /** Prices each run and caps it in dollars (budget.ts); without it runs are neither metered nor capped in dollars. */
  costing?: RunCosting;
  now?: () => number;
  /** A repo's set-up script read from its base branch on GitHub; run once in each new sandbox. */
  setupScript?: (repo: string, baseBranch: string, signal: AbortSignal) => Promise<SetupScriptResult | undefined>;
  /**
   * Told when a run ended with its outcome posted (the CI and review loops follow what it published).
   * Must not throw; it runs before the thread is marked idle, so what it submits queues behind the run.
   */
  afterRun?: (channel: string, threadTs: string, outcome: RunOutcome) => void;
}

export interface RunControl {
  signal: AbortSignal;
  stoppedBy: () => string | undefined;
  /** The bot is shutting down: the run is left to be picked up again on the next start. */
  shuttingDown?: () => boolean;
  /**
   * A durable engine picked the run up after a crash past its RUN_MAX_MINUTES: it ends as interrupted
   * (the thread gets Retry) instead of going on by itself.
   */
  pickedUpLate?: () => boolean;
  /** Queued messages for the model's next turn; the coordinator drains them atomically. */
  takeQueued: () => Promise<QueuedMessage[]>;
  /** Durable steps (the Restate engine); the local engine runs each in place. */
  step?: StepRunner;
  /**
   * When the run began (ms since the epoch), journaled by a durable engine: a run replayed after a crash
   * keeps its first deadline instead of starting a new one. Default: now.
   */
  startedAt?: number;
}

/** One run of a thread: from its queued messages to a terminal outcome posted in the thread. */
export async function executeRun(
  deps: RunnerDeps,
  state: ThreadState,
  messages: QueuedMessage[],
  control: RunControl,
): Promise<RunOutcome> {
  const now = deps.now ?? Date.now;
  const started = control.startedAt ?? now();
  const runId = randomUUID();
  const log = deps.logger.child({ channel: state.channel, thread: state.threadTs, run: runId });
  const reporter = deps.reporterFor(state.channel, state.threadTs);
  const commands: RunTotals['commands'] = [];
  const filesChanged = new Set<string>();
  const verification = new RunVerification(
    state.repos.some((r) => r.published !== undefined),
    deps.redact,
  );
  const emit = (event: RunEvent) => {
    if (event.type === 'action-end') collect(event.action, commands, filesChanged);
    verification.observe(event);
    try {
      reporter.handle(event);
    } catch (error) {
      log.warn({ err: error }, 'reporter failed to take an event');
    }
  };
  let sandboxMs = 0;
  const meter = deps.costing ? runMeter(deps.costing) : undefined;
  let settings: RunSettings | undefined;
  const totals = (loop?: LoopResult): RunTotals => ({
    turns: loop?.turns ?? 0,
    inputTokens: loop?.usage.inputTokens ?? 0,
    outputTokens: loop?.usage.outputTokens ?? 0,
    totalTokens: loop?.usage.totalTokens ?? 0,
    elapsedMs: now() - started,
    sandboxMs,
    filesChanged: [...filesChanged],
    commands,
    ...(meter ? { cost: meter.totals() } : {}),
    ...(settings ? { budgetDollars: settings.budgetDollars } : {}),
  });
  // The loop prices the sandbox time as it goes (workspaces.heldMs); letting the sandboxes go settles it, and the
  // run's cost is logged.
  const releaseSandboxes = async (): Promise<void> => {
    sandboxMs = await workspaces.release();
    if (!meter || !settings) return;
    meter.setSandboxSeconds(sandboxMs / 1000);
    emit({ type: 'cost', model: settings.model, totals: meter.totals() });
    log.info({ ...costFields(meter.totals()), budgetDollars: settings.budgetDollars }, 'run cost');
  };
  const saveRepo = async (entry: ThreadState['repos'][number]) => {
    await deps.threads.update(state.channel, state.threadTs, (s) => {
      s.repos = s.repos.map((r) => (r.repo === entry.repo ? { ...entry } : r));
      return s;
    });
  };

  // Looked up in the background: the sandbox and the model must not wait on Slack (spec §6).
  const requester = messages[0]?.user ?? state.startedBy;
  const info: Promise<ThreadInfo> = deps.threadInfo(state.channel, state.threadTs, requester).catch(() => ({}));
  // Kept in the thread's record, so `/ai-dev list` can link the thread.
  void info
    .then(({ permalink }: ThreadInfo) =>
      permalink && !state.permalink
        ? deps.threads.update(state.channel, state.threadTs, (s) => (s.permalink ? undefined : { ...s, permalink }))
        : undefined,
    )
    .catch((error: unknown) => log.warn({ err: error }, 'could not keep the thread permalink'));
  const primary = state.repos[0];
  if (primary) {
    const task = messages[0]?.text;
    const ciAttempt = messages.map(ciAttemptOf).findLast((attempt) => attempt !== undefined);
    emit({
      type: 'run-start',
      repo: primary.repo,
      baseBranch: primary.baseBranch,
      branch: primary.branch,
      ...(task ? { task: titleFrom(task) } : {}),
      ...(ciAttempt ? { ciAttempt } : {}),
    });
  }

  const workspaces = new RunWorkspaces({
    repos: state.repos,
    provider: deps.provider,
    mirrors: deps.mirrors,
    githubServerUrl: deps.githubServerUrl,
    sandboxTimeoutMs: (deps.limits.maxMinutes + deps.limits.sandboxIdleMinutes) * 60_000,
    metadata: { app: 'ai-dev', channel: state.channel, thread: state.threadTs },
    registry: deps.registry,
    thread: { channel: state.channel, threadTs: state.threadTs },
    logger: log,
    signal: control.signal,
    saveRepo,
    onReady: (repo, sandboxId, reused, note) => emit({ type: 'sandbox-ready', repo, sandboxId, reused, note }),
    setup: setupFor(deps.setupScript ?? (async () => undefined)),
  });
  const publishing = new RunPublishing({
    publisher: deps.publisher,
    logger: log,
    signal: control.signal,
    entry: (repo) => workspaces.entry(repo),
    saveRepo,
    onNotice: (text) => emit({ type: 'notice', text }),
    prFooter: async () => prFooter(await info, requester, commands, meter?.totals()),
    requestedBy: async () => requesterText(await info, requester),
    verification: (entry) => verification.mergeInto(entry),
  });

  function setupFor(readScript: NonNullable<RunnerDeps['setupScript']>) {
    return (workspace: Workspace) =>
      runSetupStep(workspace, {
        // The link's --setup commands stand in for the repo's own script.
        readScript: async (repo, baseBranch, signal) => {
          const commands = state.repos.find((r) => r.repo === repo)?.setup;
          return commands ? linkedSetup(commands) : readScript(repo, baseBranch, signal);
        },
        notice: (text) => emit({ type: 'notice', text }),
        redact: deps.redact,
        logger: log,
        timeoutMs: deps.limits.commandTimeoutSeconds * 1000,
        signal: control.signal,
      });
  }

  let loop: LoopResult | undefined;
  /** The run is not going on by itself: the thread is told so, with Retry. */
  const endInterrupted = async (): Promise<RunOutcome> => {
    const outcome: RunOutcome = { kind: 'interrupted', totals: totals(loop) };
    emit({ type: 'run-end', outcome });
    await reporter.flush();
    return outcome;
  };
  try {
    // The sandbox and the first model request start together (spec section 6).
    if (primary && state.repos.length === 1) workspaces.warm(primary.repo);
    const resumed = state.conversationId !== undefined;
    const step: StepRunner = control.step ?? ((_name, work) => work(false));
    const conversationId =
      state.conversationId ??
      (await step('conversation', () =>
        deps.model.createConversation({ channel: state.channel, thread: state.threadTs }),
      ));
    if (!state.conversationId) {
      state.conversationId = conversationId;
      await deps.threads.update(state.channel, state.threadTs, (s) => ({ ...s, conversationId }));
    }
    const given = await step('guidance', async () => {
      const found = await giveGuidance(deps, state, control.signal, log);
      return { repos: state.repos, pendingInput: state.pendingInput, found: found ?? null };
    });
    state.repos = given.repos;
    state.pendingInput = given.pendingInput;
    const guidanceFound = given.found ?? undefined;
    if (deps.costing) {
      const channelSettings = await deps.costing
        .channelSettings?.(state.channel)
        .catch((error: unknown) => log.warn({ err: error }, 'could not read the channel’s settings'));
      settings = resolveRunSettings(deps.costing.defaults, channelSettings ?? undefined, state.settings);
      emit({ type: 'run-settings', ...settings, ...(guidanceFound === undefined ? {} : { guidanceFound }) });
    }
    // Tools stop at the run's deadline too, not only model requests.
    const deadline = started + deps.limits.maxMinutes * 60_000;
    const toolSignal = AbortSignal.any([control.signal, AbortSignal.timeout(Math.max(1, deadline - now()))]);
    const context: ToolContext = {
      workspace: (repo) => workspaces.workspace(repo),
      publish: (ws, request) => publishing.publish(ws, request),
      limits: {
        commandTimeoutSeconds: deps.limits.commandTimeoutSeconds,
        outputMaxChars: deps.limits.outputMaxChars,
      },
      signal: toolSignal,
    };
    loop = await runLoop({
      model: deps.model,
      tools: deps.tools,
      conversationId,
      instructions: () =>
        buildInstructions(
          state.repos.map((r) => ({ repo: r.repo, baseBranch: r.baseBranch, branch: r.branch })),
          deps.network,
        ),
      // The queued messages were moved into pendingInput when the run took them.
      // Compared in the form the conversation holds it: redacted.
      input: resumed
        ? await step('reconcile', () =>
            deps.model.reconcile(conversationId, redactItems(state.pendingInput, deps.redact)),
          )
        : state.pendingInput,
      takeQueuedInput: async () => (await control.takeQueued()).map(toUserInput),
      limits: {
        maxTurns: deps.limits.maxTurns,
        maxTokens: deps.limits.maxTokens,
        deadline,
      },
      signal: control.signal,
      emit,
      redact: deps.redact,
      savePendingInput: async (items) => {
        await deps.threads.update(state.channel, state.threadTs, (s) => ({ ...s, pendingInput: items }));
      },
      context,
      ...(settings ? { settings: { model: settings.model, effort: settings.effort } } : {}),
      ...(meter && settings
        ? {
            cost: {
              meter,
              model: settings.model,
              maxDollars: settings.budgetDollars,
              sandboxSeconds: () => workspaces.heldMs() / 1000,
            },
          }
        : {}),
      compaction: {
        atInputTokens: deps.limits.compactAtInputTokens,
        metadata: { channel: state.channel, thread: state.threadTs },
        // The thread moves to the new conversation: one conversation per thread at a time.
        onCompacted: async (id) => {
          state.conversationId = id;
          await deps.threads.update(state.channel, state.threadTs, (s) => ({ ...s, conversationId: id }));
        },
      },
      now,
      step,
    });
    await deps.threads.update(state.channel, state.threadTs, (s) => ({ ...s, pendingInput: loop?.pendingInput ?? [] }));
    if (control.signal.aborted && control.pickedUpLate?.()) {
      await releaseSandboxes();
      return await endInterrupted();
    }
    if (control.signal.aborted && control.shuttingDown?.()) {
      await releaseSandboxes();
      emit({ type: 'notice', text: 'The bot is restarting; I will pick this run up where it stopped once I am back.' });
      await reporter.flush();
      return { kind: 'interrupted', totals: totals(loop) };
    }
    const finished = await finish(state, loop, { workspaces, publishing }, messages, control, context, totals, log);
    await releaseSandboxes();
    const outcome = { ...finished, totals: totals(loop) } as RunOutcome;
    emit({ type: 'run-end', outcome });
    await reporter.flush();
    deps.afterRun?.(state.channel, state.threadTs, outcome);
    return outcome;
  } catch (error) {
    const reference = errorReference();
    log.error({ err: error, reference }, `run failed: ${errorMessage(error)}`);
    await releaseSandboxes();
    if (control.signal.aborted && control.pickedUpLate?.()) return await endInterrupted();
    if (control.signal.aborted && control.shuttingDown?.()) {
      emit({ type: 'notice', text: 'The bot is restarting; I will pick this run up where it stopped once I am back.' });
      await reporter.flush();
      return { kind: 'interrupted', totals: totals(loop) };
    }
    const outcome: RunOutcome = control.signal.aborted
      ? { kind: 'stopped', by: control.stoppedBy(), totals: totals(loop) }
      : { kind: 'failed', reason: userReason(error), reference, totals: totals(loop) };
    emit({ type: 'run-end', outcome });
    await reporter.flush();
    return outcome;
  }
}

/** Turns how the loop ended into the terminal outcome, publishing leftover work first. */
async function finish(
  state: ThreadState,
  loop: LoopResult,
  { workspaces, publishing }: { workspaces: RunWorkspaces; publishing: RunPublishing },
  messages: QueuedMessage[],
  control: RunControl,
  context: ToolContext,
  totals: (loop?: LoopResult) => RunTotals,
  log: Logger,
): Promise<RunOutcome> {
  const end = loop.end;
  if (end.kind === 'stopped') return { kind: 'stopped', by: control.stoppedBy(), totals: totals(loop) };
  if (end.kind === 'budget-reached') {
    // A dollar budget publishes the work so far: what was paid for is not left in a sandbox.
    if (end.limit === 'dollars') {
      try {
        const waiting = await publishLeftovers(state, loop, { workspaces, publishing }, messages, context, totals, '');
        if (waiting) return waiting;
      } catch (error) {
        log.warn({ err: error }, 'could not publish the work so far at the dollar budget');
      }
    }
    return { kind: 'budget-reached', limit: end.limit, totals: totals(loop) };
  }
  if (end.kind === 'repeating') {
    const reference = errorReference();
    log.warn({ reference, reason: end.message }, 'run stopped: the model was repeating itself');
    return {
      kind: 'failed',
      reason: `${end.message} Reply in this thread with a hint to try another way.`,
      reference,
      totals: totals(loop),
    };
  }
  if (end.kind === 'failed') {
    if (end.error instanceof PublishNeedsApproval) return awaitingApproval(end.error, workspaces, totals(loop));
    const reference = errorReference();
    log.error({ err: end.error, reference }, `run failed: ${errorMessage(end.error)}`);
    return { kind: 'failed', reason: userReason(end.error), reference, totals: totals(loop) };
  }
  // The model is done: anything it changed but did not publish is committed and published now,
  // so the pull request is always the last word when there are changes.
  const waiting = await publishLeftovers(state, loop, { workspaces, publishing }, messages, context, totals, end.text);
  if (waiting) return waiting;
  const pr = publishing.published.at(-1);
  if (pr) {
    const all = publishing.published;
    return {
      kind: 'pull-request',
      url: pr.url,
      number: pr.number,
      created: pr.created,
      summary: end.text,
      ...(all.length > 1
        ? { others: all.map((p) => ({ repo: p.repo, url: p.url, number: p.number, created: p.created })) }
        : {}),
      totals: totals(loop),
    };
  }
  return { kind: 'no-changes', answer: end.text, totals: totals(loop) };
}

/** Commits and publishes what the model changed but did not publish; an outcome only when it needs an approval. */
async function publishLeftovers(
  state: ThreadState,
  loop: LoopResult,
  { workspaces, publishing }: { workspaces: RunWorkspaces; publishing: RunPublishing },
  messages: QueuedMessage[],
  context: ToolContext,
  totals: (loop?: LoopResult) => RunTotals,
  answer: string,
): Promise<RunOutcome | undefined> {
  const task = messages[0]?.text ?? 'Changes requested in Slack';
  for (const pending of workspaces.prepared()) {
    const ws = await pending.catch(() => undefined);
    if (!ws) continue;
    if (await hasUnpublishedWork(ws, state, workspaces)) {
      // The commit tool's own rules: on the thread's branch only, no hooks, no signing.
      await commitAll(ws, titleFrom(task), { signal: context.signal });
      try {
        await publishing.publish(ws, { title: titleFrom(task), body: answer || task });
      } catch (error) {
        if (error instanceof PublishNeedsApproval) return awaitingApproval(error, workspaces, totals(loop));
        throw error;
      }
    }
  }
  return undefined;
}

/** Publishing waits for an approval: the Approve button will name these files. */
async function awaitingApproval(
  error: PublishNeedsApproval,
  workspaces: RunWorkspaces,
  runTotals: RunTotals,
): Promise<RunOutcome> {
  const files = [...new Set(error.changes.map((c) => c.path))];
  const entry = workspaces.entry(error.repo);
  entry.pendingApproval = { fingerprint: error.fingerprint, files };
  await workspaces.save(entry);
  return { kind: 'awaiting-approval', repo: error.repo, files, fingerprint: error.fingerprint, totals: runTotals };
}

async function hasUnpublishedWork(ws: Workspace, state: ThreadState, workspaces: RunWorkspaces): Promise<boolean> {
  const changes = await workspaceChanges(ws.sandbox, ws.root);
  if (changes.uncommitted.length > 0) return true;
  const entry = state.repos.find((r) => r.repo === ws.repo);
  const publishedHead = workspaces.entry(ws.repo).published?.localSha ?? entry?.published?.localSha;
  if (publishedHead) return changes.head !== publishedHead;
  return changes.head !== (await branchBase(ws.sandbox, ws.root, ws.baseBranch));
}

/**
 * Once per repo and thread, before the model's first look at it: the repo's own guidance, read from
 * its base branch on GitHub, goes to the model as labelled input ahead of the people's messages. It
 * is kept with the pending input, so a crash before the request does not lose it.
 */
async function giveGuidance(
  deps: RunnerDeps,
  state: ThreadState,
  signal: AbortSignal,
  log: Logger,
): Promise<boolean | undefined> {
  const wanted = state.repos.filter((r) => !r.guidanceGiven);
  if (wanted.length === 0) return undefined;
  const found = await Promise.all(
    wanted.map(async (r) => {
      const guidance = await deps.guidance(r.repo, r.baseBranch, signal).catch((error: unknown) => {
        log.warn({ err: error, repo: r.repo }, 'could not read the repo’s guidance');
        return undefined;
      });
      return guidance ? guidanceMessage({ ...guidance, repo: r.repo, baseBranch: r.baseBranch }) : undefined;
    }),
  );
  const items: InputItem[] = found.flatMap((content) => (content ? [{ type: 'message', role: 'user', content }] : []));
  const updated = await deps.threads.update(state.channel, state.threadTs, (s) => ({
    ...s,
    repos: s.repos.map((r) => (wanted.some((w) => w.repo === r.repo) ? { ...r, guidanceGiven: true } : r)),
    pendingInput: [...items, ...s.pendingInput],
  }));
  if (updated) {
    state.repos = updated.repos;
    state.pendingInput = updated.pendingInput;
  }
  return items.length > 0;
}

function collect(action: ActionReport, commands: RunTotals['commands'], files: Set<string>): void {
  if (action.kind === 'command') {
    commands.push({ command: action.command, exitCode: action.exitCode, durationMs: action.durationMs });
  }
  if (action.kind === 'file-written' || action.kind === 'file-edited') files.add(action.path);
}

function titleFrom(task: string): string {
  const line =
    task
      .replace(/<@[A-Z0-9]+>/g, '')
      .trim()
      .split('\n')[0] ?? '';
  const clean = line.replace(/\s+/g, ' ').trim();
  return clean.length > 72 ? `${clean.slice(0, 69)}…` : clean || 'Changes requested in Slack';
}

function userReason(error: unknown): string {
  if (error instanceof AppError) return error.userMessage;
  return 'Something went wrong on my side.';
}

function redactItems(items: InputItem[], redact: (text: string) => string): InputItem[] {
  return items.map((item) =>
    item.type === 'message' ? { ...item, content: redact(item.content) } : { ...item, output: redact(item.output) },
  );
}
