import type { ActionsBlock, ContextBlock, KnownBlock, PlanBlock, RichTextBlock, TaskCardBlock } from '@slack/types';
import { formatDollars } from '../agent/cost.js';
import type { CiFixAttempt, PlanItem, RunEvent, RunOutcome } from '../agent/events.js';
import { formatDuration } from '../lib/duration.js';
import { escapeMrkdwn, inlineCode, SLACK_LIMITS, type SlackMessage, STOP_ACTION_ID, trimEnd } from './blocks.js';

/** The four statuses of Slack's task cards. */
export type TaskStatus = 'pending' | 'in_progress' | 'complete' | 'error';

/** One of our own steps on the card (a sandbox, the tests, a pull request). */
export interface CardStep {
  id: string;
  title: string;
  status: TaskStatus;
  /** One line under the title (the test command and its exit code). */
  detail?: string;
  /** A link shown as the task's source (the pull request). */
  url?: string;
}

/** Where the run stands; only `running` shows the Stop button. */
export type CardPhase = 'running' | 'paused' | 'done' | 'stopped' | 'failed' | 'interrupted';

export interface CardState {
  /** Value of the Stop button (`channel:threadTs`), as on the first reply's Stop. */
  threadKey: string;
  /** The task in a few words: the plan's title. */
  title: string;
  repo: string;
  branch: string;
  model?: string;
  effort?: string;
  budgetDollars?: number;
  /** ms since the epoch; the elapsed time is counted from here. */
  startedAt: number;
  /** Set when the run ended: the elapsed time stops here. */
  endedAt?: number;
  tokens: { input: number; cachedInput: number; output: number };
  /** Model plus sandbox dollars so far. */
  dollars: number;
  /** How many times the conversation was compacted. */
  compactions: number;
  /** Our steps shown before the model's plan (the sandboxes). */
  before: CardStep[];
  /** The model's checklist (update_plan). */
  plan: PlanItem[];
  /** Our steps shown after it (tests, pull requests). */
  after: CardStep[];
  phase: CardPhase;
  /** mrkdwn shown with the phase: "stopped by <@U…>", "reached the $10.00 budget". */
  phaseNote?: string;
  /** mrkdwn facts under the facts line: the base branch, the sandbox network, whether AGENTS.md was found. */
  notes?: string[];
  /** ms from the start to the first tool result (a cold sandbox start shows here). */
  firstResultMs?: number;
  /** The run is the CI loop's fix attempt: its line heads the card's facts. */
  ciAttempt?: CiFixAttempt;
  /** `action-start` id of a test command in progress (internal to `nextCardState`). */
  testActionId?: string;
}

/** Slack's plan block takes at most 50 task cards. */
export const CARD_MAX_TASKS = 50;
/** Task and plan titles are cut to this (Slack documents no maximum; 255 is where the fake stops). */
export const CARD_TITLE_MAX = 150;
/** Our own steps before or after the plan, at most (a run over many repos). */
const MAX_OWN_STEPS = 8;

export function initialCardState(input: {
  threadKey: string;
  title: string;
  repo: string;
  branch: string;
  startedAt: number;
  model?: string;
  effort?: string;
  budgetDollars?: number;
}): CardState {
  return {
    ...input,
    tokens: { input: 0, cachedInput: 0, output: 0 },
    dollars: 0,
    compactions: 0,
    before: [],
    plan: [],
    after: [],
    phase: 'running',
  };
}

// ---- from run events to a card state ----

/** A command that runs tests (the card's "Tests" step). */
const TEST_COMMAND =
  /(^|[\s;&|(])((npm|pnpm|yarn|bun)\s+(run\s+)?test\b|npm\s+t\b|npx\s+(vitest|jest|mocha)\b|vitest\b|jest\b|pytest\b|python3?\s+-m\s+(pytest|unittest)\b|go\s+test\b|cargo\s+(test|nextest)\b|mvn\b.*\btest\b|gradlew?\b.*\btest\b|rspec\b|bundle\s+exec\s+(rspec|rake\s+test)\b|rake\s+test\b|dotnet\s+test\b|phpunit\b|mix\s+test\b|tox\b|make\s+(test|check)\b|ctest\b|deno\s+test\b)/;

export function isTestCommand(command: string): boolean {
  return TEST_COMMAND.test(command.replace(/^\$\s*/, ''));
}

function upsert(steps: CardStep[], step: CardStep): CardStep[] {
  const index = steps.findIndex((s) => s.id === step.id);
  if (index < 0) return [...steps, step];
  const copy = [...steps];
  copy[index] = { ...copy[index], ...step };
  return copy;
}

const TESTS_ID = 'tests';

const OUTCOME_PHASE: Record<RunOutcome['kind'], CardPhase> = {
  'pull-request': 'done',
  'no-changes': 'done',
  stopped: 'stopped',
  'budget-reached': 'paused',
  failed: 'failed',
  interrupted: 'interrupted',
  'awaiting-approval': 'paused',
};

function phaseNote(outcome: RunOutcome, state: CardState): string | undefined {
  switch (outcome.kind) {
    case 'stopped':
      return outcome.by ? `stopped by <@${escapeMrkdwn(outcome.by)}>` : 'stopped';
    case 'budget-reached': {
      const limit: string = outcome.limit;
      if (limit === 'dollars' && state.budgetDollars !== undefined) {
        return `reached the ${formatDollars(state.budgetDollars)} budget`;
      }
      const names: Record<string, string> = { turns: 'turn', tokens: 'token', minutes: 'time', dollars: 'dollar' };
      return `reached its ${names[limit] ?? escapeMrkdwn(limit)} limit`;
    }
    case 'failed':
      return escapeMrkdwn(trimEnd(outcome.reason, 300));
    case 'interrupted':
      return 'interrupted by a restart';
    case 'awaiting-approval':
      return `waiting for an approval of ${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'}`;
    default:
      return undefined;
  }
}

/**
 * The card after one run event (pure). Our steps come from the run: the sandbox (`run-start` → `sandbox-ready`), the
 * tests (a `run_command` that runs tests), the pull request (a `pull-request` action); the model's checklist from
 * `update_plan`; tokens and dollars from `cost` and `usage`; "context compacted" from `compacted`.
 */
export function nextCardState(state: CardState, event: RunEvent, now: number): CardState {
  const firstResult = event.type === 'action-end' && state.firstResultMs === undefined;
  return applyEvent(firstResult ? { ...state, firstResultMs: Math.max(0, now - state.startedAt) } : state, event, now);
}

function applyEvent(state: CardState, event: RunEvent, now: number): CardState {
  switch (event.type) {
    case 'run-start': {
      const sandbox: CardStep = {
        id: `sandbox:${event.repo}`,
        title: `Sandbox for ${event.repo}`,
        status: 'in_progress',
      };
      const existing = state.before.find((s) => s.id === sandbox.id);
      return {
        ...state,
        phase: 'running',
        endedAt: undefined,
        phaseNote: undefined,
        branch: state.branch || event.branch,
        ...(event.ciAttempt ? { ciAttempt: event.ciAttempt } : {}),
        before: existing ? state.before : upsert(state.before, sandbox),
      };
    }
    case 'sandbox-ready':
      return {
        ...state,
        before: upsert(state.before, {
          id: `sandbox:${event.repo}`,
          title: `Sandbox for ${event.repo}`,
          status: 'complete',
        }),
      };
    case 'run-settings':
      return { ...state, model: event.model, effort: event.effort, budgetDollars: event.budgetDollars };
    case 'action-start':
      if (event.tool !== 'run_command' || !isTestCommand(event.summary)) return state;
      return {
        ...state,
        testActionId: event.id,
        after: upsert(state.after, { id: TESTS_ID, title: 'Run the tests', status: 'in_progress' }),
      };
    case 'action-end': {
      const { action } = event;
      if (action.kind === 'plan') return { ...state, plan: action.items };
      if (action.kind === 'pull-request') {
        return {
          ...state,
          after: upsert(state.after, {
            id: `pr:${action.url}`,
            title: `${action.created ? 'Opened' : 'Updated'} pull request #${action.number}`,
            status: 'complete',
            url: action.url,
          }),
        };
      }
      const isTests =
        (action.kind === 'command' && isTestCommand(action.command)) ||
        (event.id === state.testActionId && event.tool === 'run_command');
      if (!isTests) return state;
      const passed = action.kind === 'command' && action.exitCode === 0 && !action.timedOut;
      const detail =
        action.kind === 'command'
          ? `$ ${action.command.split('\n', 1)[0] ?? ''} → ${action.timedOut ? 'timed out' : `exit ${action.exitCode}`}`
          : undefined;
      return {
        ...state,
        testActionId: undefined,
        after: upsert(state.after, {
          id: TESTS_ID,
          title: passed ? 'Tests pass' : 'Run the tests',
          status: passed ? 'complete' : 'error',
          ...(detail ? { detail } : {}),
        }),
      };
    }
    case 'usage':
      return { ...state, tokens: { ...state.tokens, input: event.inputTokens, output: event.outputTokens } };
    case 'cost':
      return {
        ...state,
        dollars: event.totals.dollars,
        tokens: {
          input: event.totals.inputTokens,
          cachedInput: event.totals.cachedInputTokens,
          output: event.totals.outputTokens,
        },
      };
    case 'compacted':
      return { ...state, compactions: state.compactions + 1 };
    case 'run-end': {
      const phase = OUTCOME_PHASE[event.outcome.kind];
      const broken = phase === 'stopped' || phase === 'failed' || phase === 'interrupted';
      const settle = (steps: CardStep[]): CardStep[] =>
        broken ? steps.map((s) => (s.status === 'in_progress' ? { ...s, status: 'error' } : s)) : steps;
      return {
        ...state,
        phase,
        phaseNote: phaseNote(event.outcome, state),
        endedAt: now,
        testActionId: undefined,
        before: settle(state.before),
        after: settle(state.after),
      };
    }
    default:
      return state;
  }
}

// ---- from a card state to blocks ----

function cutTitle(title: string): string {
  const flat = title.replace(/\s+/g, ' ').trim();
  return trimEnd(flat === '' ? '…' : flat, CARD_TITLE_MAX);
}

function richText(text: string): RichTextBlock {
  return {
    type: 'rich_text',
    elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: trimEnd(text, 500) }] }],
  };
}

function stepCard(step: CardStep): TaskCardBlock {
  return {
    type: 'task_card',
    task_id: step.id.slice(0, 200),
    title: cutTitle(step.title),
    status: step.status,
    ...(step.detail ? { details: richText(step.detail) } : {}),
    ...(step.url ? { sources: [{ type: 'url', url: step.url, text: cutTitle(step.title) }] } : {}),
  };
}

/**
 * The model's items as task cards, `room` at most: the oldest completed items fold into one "N earlier steps
 * complete" card; if that is not enough, the last items fold into "N more steps".
 */
function planCards(plan: readonly PlanItem[], room: number): TaskCardBlock[] {
  const card = (item: PlanItem, index: number): TaskCardBlock => ({
    type: 'task_card',
    task_id: `plan:${index}`,
    title: cutTitle(item.title),
    status: item.status,
  });
  if (room <= 0) return [];
  if (plan.length <= room) return plan.map(card);
  const indexed = plan.map((item, index) => ({ item, index }));
  const completed = indexed.filter((e) => e.item.status === 'complete');
  // One card stands for the folded ones.
  const foldCount = Math.min(completed.length, plan.length - room + 1);
  const folded = new Set(completed.slice(0, foldCount).map((e) => e.index));
  const cards: TaskCardBlock[] = [];
  let foldPlaced = false;
  for (const { item, index } of indexed) {
    if (!folded.has(index)) {
      cards.push(card(item, index));
    } else if (!foldPlaced) {
      foldPlaced = true;
      cards.push({
        type: 'task_card',
        task_id: 'plan:folded',
        title: `${foldCount} earlier step${foldCount === 1 ? '' : 's'} complete`,
        status: 'complete',
      });
    }
  }
  if (cards.length <= room) return cards;
  const kept = cards.slice(0, room - 1);
  const hidden = cards.slice(room - 1).reduce((sum, c) => sum + (c.task_id === 'plan:folded' ? foldCount : 1), 0);
  return [
    ...kept,
    {
      type: 'task_card',
      task_id: 'plan:more',
      title: `${hidden} more step${hidden === 1 ? '' : 's'}`,
      status: 'pending',
    },
  ];
}

function ownCards(steps: readonly CardStep[], id: string): TaskCardBlock[] {
  if (steps.length <= MAX_OWN_STEPS) return steps.map(stepCard);
  const kept = steps.slice(0, MAX_OWN_STEPS - 1).map(stepCard);
  const rest = steps.slice(MAX_OWN_STEPS - 1);
  const status: TaskStatus = rest.some((s) => s.status === 'error')
    ? 'error'
    : rest.some((s) => s.status === 'in_progress')
      ? 'in_progress'
      : rest.every((s) => s.status === 'complete')
        ? 'complete'
        : 'pending';
  return [...kept, { type: 'task_card', task_id: id, title: `${rest.length} more`, status }];
}

/** Every task card of the card, at most `CARD_MAX_TASKS`, task ids unique. */
export function cardTasks(state: CardState): TaskCardBlock[] {
  const before = ownCards(state.before, 'own:before-more');
  const after = ownCards(state.after, 'own:after-more');
  return [...before, ...planCards(state.plan, CARD_MAX_TASKS - before.length - after.length), ...after];
}

const PHASE_LINE: Record<CardPhase, (where: string) => string> = {
  running: (where) => `:hourglass_flowing_sand: Working on ${where}`,
  paused: (where) => `:double_vertical_bar: Paused on ${where}`,
  done: (where) => `:white_check_mark: Done on ${where}`,
  // Not ":octagonal_sign: Stopped", the words of the run's last reply: the card is not the outcome.
  stopped: (where) => `:black_square_for_stop: Stopped on ${where}`,
  failed: (where) => `:x: Failed on ${where}`,
  interrupted: (where) => `:warning: Interrupted on ${where}`,
};

/** 950 → "950", 12 345 → "12.3k", 1 234 567 → "1.23M". */
export function compactCount(value: number): string {
  if (value < 1000) return String(Math.round(value));
  if (value < 1_000_000) return `${(value / 1000).toFixed(value < 100_000 ? 1 : 0)}k`;
  return `${(value / 1_000_000).toFixed(2)}M`;
}

/** The card's facts line: model and effort, elapsed, tokens, dollars against the budget, compaction. */
export function cardFacts(state: CardState, now: number): string {
  const parts: string[] = [];
  if (state.model)
    parts.push(`${escapeMrkdwn(state.model)}${state.effort ? ` · effort ${escapeMrkdwn(state.effort)}` : ''}`);
  parts.push(formatDuration(Math.max(0, (state.endedAt ?? now) - state.startedAt)));
  if (state.firstResultMs !== undefined) parts.push(`first result after ${formatDuration(state.firstResultMs)}`);
  const { input, cachedInput, output } = state.tokens;
  const total = input + output;
  if (total > 0) {
    const cached = input > 0 && cachedInput > 0 ? ` (${Math.round((cachedInput / input) * 100)}% cached)` : '';
    parts.push(`${compactCount(total)} tokens${cached}`);
  }
  const budget = state.budgetDollars !== undefined ? ` of ${formatDollars(state.budgetDollars)}` : '';
  parts.push(`*${formatDollars(state.dollars)}*${budget}`);
  if (state.compactions > 0) {
    parts.push(state.compactions === 1 ? 'context compacted' : `context compacted ${state.compactions}×`);
  }
  return parts.join(' · ');
}

/** `CI fix attempt 1/2: test (ubuntu) failed`, mrkdwn. */
export function ciAttemptText(attempt: CiFixAttempt): string {
  return `:repeat: CI fix attempt ${attempt.attempt}/${attempt.max}: ${escapeMrkdwn(attempt.failed)} failed`;
}

export interface StatusCardOptions {
  /** Leave the plan block out (Slack refused it once: the card stays readable as text). */
  withoutPlan?: boolean;
}

/**
 * The run's status card: the phase with repo @ branch, a `plan` block of task cards (our steps and the model's
 * checklist), the facts line, and a Stop button while the run is running. Pure; `now` gives the elapsed time.
 */
export function statusCardMessage(state: CardState, now: number, options: StatusCardOptions = {}): SlackMessage {
  const where = `*${escapeMrkdwn(state.repo)}* @ ${inlineCode(state.branch || '…', 80)}`;
  const note = state.phaseNote ? `: ${state.phaseNote}` : '';
  const headline = trimEnd(`${PHASE_LINE[state.phase](where)}${note}`, SLACK_LIMITS.sectionText);
  const facts = cardFacts(state, now);
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: headline } }];
  // Right under the headline: why this run started without anyone typing.
  if (state.ciAttempt) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: trimEnd(ciAttemptText(state.ciAttempt), 3000) }],
    });
  }
  const tasks = options.withoutPlan ? [] : cardTasks(state);
  if (tasks.length > 0) {
    const plan: PlanBlock = { type: 'plan', title: cutTitle(state.title), tasks };
    blocks.push(plan);
  }
  const context: ContextBlock = { type: 'context', elements: [{ type: 'mrkdwn', text: trimEnd(facts, 3000) }] };
  if (state.notes && state.notes.length > 0) {
    context.elements.push({ type: 'mrkdwn', text: trimEnd(state.notes.join(' · '), 3000) });
  }
  blocks.push(context);
  if (state.phase === 'running') {
    const stop: ActionsBlock = {
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Stop', emoji: true },
          action_id: STOP_ACTION_ID,
          value: state.threadKey,
          style: 'danger',
        },
      ],
    };
    blocks.push(stop);
  }
  const done = [...state.before, ...state.after].filter((s) => s.status === 'complete').length;
  const planDone = state.plan.filter((i) => i.status === 'complete').length;
  const progress =
    state.plan.length > 0 ? ` — ${planDone} of ${state.plan.length} steps done` : done > 0 ? ` — ${done} done` : '';
  const attempt = state.ciAttempt ? ` — ${ciAttemptText(state.ciAttempt)}` : '';
  const text = trimEnd(`${PHASE_LINE[state.phase](where)}${note}${attempt}${progress} (${facts})`, 3000);
  return { text, blocks };
}
