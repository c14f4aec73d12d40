import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyTotals } from '../../src/agent/cost.js';
import type { PlanItem, RunEvent, RunTotals } from '../../src/agent/events.js';
import { ciAttemptLine, ciAttemptOf } from '../../src/runs/ci-attempt.js';
import { actionText } from '../../src/slack/action-text.js';
import { STOP_ACTION_ID } from '../../src/slack/blocks.js';
import {
  CARD_MAX_TASKS,
  CARD_TITLE_MAX,
  type CardState,
  cardFacts,
  cardTasks,
  compactCount,
  initialCardState,
  isTestCommand,
  nextCardState,
  statusCardMessage,
} from '../../src/slack/status-card.js';
import { type FakeSlack, startFakeSlack, validateBlocks } from '../fakes/slack-server.js';

const T0 = 1_800_000_000_000;
const totals: RunTotals = {
  turns: 3,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  elapsedMs: 0,
  sandboxMs: 0,
  filesChanged: [],
  commands: [],
};

function base(overrides: Partial<CardState> = {}): CardState {
  return {
    ...initialCardState({
      threadKey: 'C0CARD:1700000000.000100',
      title: 'Fix the leap-year bug in the date helpers',
      repo: 'acme/widgets',
      branch: 'ai-dev/fix-leap-year',
      startedAt: T0,
      model: 'gpt-6.2-sol',
      effort: 'high',
      budgetDollars: 10,
    }),
    ...overrides,
  };
}

const items = (n: number, status: (i: number) => PlanItem['status'] = () => 'pending'): PlanItem[] =>
  Array.from({ length: n }, (_, i) => ({ title: `step ${i}`, status: status(i) }));

function blockTypes(state: CardState): string[] {
  return (statusCardMessage(state, T0 + 5000).blocks ?? []).map((b) => b.type);
}

describe('statusCardMessage', () => {
  it('shows phase, repo @ branch, a plan of task cards, the facts and a Stop button while running', () => {
    const state = base({
      before: [{ id: 'sandbox:acme/widgets', title: 'Sandbox for acme/widgets', status: 'complete' }],
      plan: [
        { title: 'Read the helpers', status: 'complete' },
        { title: 'Fix the check', status: 'in_progress' },
      ],
      tokens: { input: 120_000, cachedInput: 90_000, output: 4_000 },
      dollars: 0.4321,
      compactions: 1,
    });
    const message = statusCardMessage(state, T0 + 184_000);
    expect(message.blocks).toEqual([
      {
        type: 'section',
        text: { type: 'mrkdwn', text: ':hourglass_flowing_sand: Working on *acme/widgets* @ `ai-dev/fix-leap-year`' },
      },
      {
        type: 'plan',
        title: 'Fix the leap-year bug in the date helpers',
        tasks: [
          { type: 'task_card', task_id: 'sandbox:acme/widgets', title: 'Sandbox for acme/widgets', status: 'complete' },
          { type: 'task_card', task_id: 'plan:0', title: 'Read the helpers', status: 'complete' },
          { type: 'task_card', task_id: 'plan:1', title: 'Fix the check', status: 'in_progress' },
        ],
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'gpt-6.2-sol · effort high · 3 min 4 s · 124k tokens (75% cached) · *$0.43* of $10.00 · context compacted',
          },
        ],
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            text: { type: 'plain_text', text: 'Stop', emoji: true },
            action_id: STOP_ACTION_ID,
            value: 'C0CARD:1700000000.000100',
            style: 'danger',
          },
        ],
      },
    ]);
    expect(message.text).toContain('1 of 2 steps done');
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });

  it('has no Stop button once the run is over, and says how it ended', () => {
    for (const phase of ['paused', 'done', 'stopped', 'failed', 'interrupted'] as const) {
      expect(blockTypes(base({ phase }))).not.toContain('actions');
    }
    const stopped = statusCardMessage(base({ phase: 'stopped', phaseNote: 'stopped by <@U0ALICE>' }), T0);
    expect(stopped.text).toMatch(/^:black_square_for_stop: Stopped on \*acme\/widgets\*.*: stopped by <@U0ALICE>/);
  });

  it('leaves the plan block out when there are no tasks, or when asked to', () => {
    expect(blockTypes(base())).toEqual(['section', 'context', 'actions']);
    expect(statusCardMessage(base({ plan: items(3) }), T0, { withoutPlan: true }).blocks?.map((b) => b.type)).toEqual([
      'section',
      'context',
      'actions',
    ]);
  });

  it('keeps within 50 tasks by folding the oldest completed steps', () => {
    const state = base({
      before: [{ id: 'sandbox:a', title: 'Sandbox', status: 'complete' }],
      plan: items(80, (i) => (i < 70 ? 'complete' : 'pending')),
      after: [{ id: 'tests', title: 'Run the tests', status: 'in_progress' }],
    });
    const tasks = cardTasks(state);
    expect(tasks).toHaveLength(CARD_MAX_TASKS);
    expect(tasks[1]).toMatchObject({ task_id: 'plan:folded', title: '33 earlier steps complete', status: 'complete' });
    expect(tasks[2]?.title).toBe('step 33');
    expect(tasks.at(-2)?.title).toBe('step 79');
    expect(tasks.at(-1)?.task_id).toBe('tests');
    expect(validateBlocks(statusCardMessage(state, T0).blocks, 'message')).toEqual([]);
  });

  it('cuts the tail into "N more steps" when too few steps are complete to fold', () => {
    const tasks = cardTasks(base({ plan: items(60, (i) => (i < 3 ? 'complete' : 'pending')) }));
    expect(tasks).toHaveLength(CARD_MAX_TASKS);
    expect(tasks[0]).toMatchObject({ task_id: 'plan:folded', title: '3 earlier steps complete' });
    // 60 items: 3 folded into one card, 48 shown, the last 9 in "9 more steps".
    expect(tasks.at(-1)).toMatchObject({ task_id: 'plan:more', title: '9 more steps', status: 'pending' });
    expect(new Set(tasks.map((t) => t.task_id)).size).toBe(tasks.length);
    expect(validateBlocks(statusCardMessage(base({ plan: items(200) }), T0).blocks, 'message')).toEqual([]);
  });

  it('cuts long titles and keeps untrusted text from becoming markup', () => {
    const state = base({
      title: 'x'.repeat(1000),
      repo: 'acme/<!channel>',
      plan: [{ title: `${'y'.repeat(400)}\n\nmore`, status: 'pending' }],
    });
    const message = statusCardMessage(state, T0);
    const plan = message.blocks?.find((b) => b.type === 'plan') as { title: string; tasks: Array<{ title: string }> };
    expect(plan.title).toHaveLength(CARD_TITLE_MAX);
    expect(plan.tasks[0]?.title).toHaveLength(CARD_TITLE_MAX);
    expect(message.text).not.toContain('<!channel>');
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });
});

describe('a CI fix attempt on the card', () => {
  it('the run-start of a CI fix shows the attempt under the headline and in the text, to the end', () => {
    const start: RunEvent = {
      type: 'run-start',
      repo: 'acme/widgets',
      baseBranch: 'main',
      branch: 'ai-dev/fix',
      task: 'checks failed: test (ubuntu) — fixing, attempt 1/2',
      ciAttempt: { attempt: 1, max: 2, failed: 'test (ubuntu)' },
    };
    let state = nextCardState(base(), start, T0);
    state = nextCardState(state, { type: 'run-end', outcome: { kind: 'no-changes', answer: 'ok', totals } }, T0 + 5);
    const message = statusCardMessage(state, T0 + 5);
    expect(message.blocks?.[1]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: ':repeat: CI fix attempt 1/2: test (ubuntu) failed' }],
    });
    expect(message.text).toContain('— :repeat: CI fix attempt 1/2: test (ubuntu) failed');
    // Any other run says nothing of CI.
    expect(JSON.stringify(statusCardMessage(base(), T0))).not.toContain('CI fix');
  });

  it('the CI loop’s line and the runner’s reading of it agree; a person’s same words are not an attempt', () => {
    const attempt = { attempt: 2, max: 3, failed: 'test (ubuntu), lint' };
    const text = `${ciAttemptLine(attempt)}\n\nThe log…`;
    expect(ciAttemptOf({ ts: 'ci-0123456789ab-2', text })).toEqual(attempt);
    expect(ciAttemptOf({ ts: '1700000000.000200', text })).toBeUndefined();
  });
});

describe('cardFacts', () => {
  it('shows dollars without a budget, and counts compactions', () => {
    const facts = cardFacts(
      base({ model: undefined, budgetDollars: undefined, compactions: 3, dollars: 0.001, endedAt: T0 + 61_000 }),
      T0 + 999_999,
    );
    expect(facts).toBe('1 min 1 s · *<$0.01* · context compacted 3×');
    expect(compactCount(950)).toBe('950');
    expect(compactCount(12_345)).toBe('12.3k');
    expect(compactCount(1_234_567)).toBe('1.23M');
  });
});

describe('nextCardState', () => {
  it('moves a scripted run from plan to done with its cost', () => {
    const script: RunEvent[] = [
      { type: 'run-start', repo: 'acme/widgets', baseBranch: 'main', branch: 'ai-dev/fix-leap-year' },
      { type: 'run-settings', model: 'gpt-6.2-astra', effort: 'xhigh', budgetDollars: 3 },
      { type: 'sandbox-ready', repo: 'acme/widgets', sandboxId: 'sb1', reused: false },
      {
        type: 'action-end',
        id: 'a1',
        tool: 'update_plan',
        action: {
          kind: 'plan',
          items: [
            { title: 'Fix the check', status: 'in_progress' },
            { title: 'Add a test', status: 'pending' },
          ],
        },
      },
      { type: 'action-start', id: 'a2', tool: 'run_command', summary: '$ npm test' },
      {
        type: 'action-end',
        id: 'a2',
        tool: 'run_command',
        action: { kind: 'command', command: 'npm test', exitCode: 1, durationMs: 900, timedOut: false, output: '' },
      },
      {
        type: 'cost',
        model: 'gpt-6.2-astra',
        request: { inputTokens: 10_000, cachedInputTokens: 0, outputTokens: 1000, dollars: 0.12, longContext: false },
        totals: { ...emptyTotals(), dollars: 0.12, modelDollars: 0.12, inputTokens: 10_000, outputTokens: 1000 },
      },
      { type: 'compacted', inputTokensBefore: 210_000 },
      { type: 'action-start', id: 'a3', tool: 'run_command', summary: '$ npm test -- --run' },
      {
        type: 'action-end',
        id: 'a3',
        tool: 'run_command',
        action: {
          kind: 'command',
          command: 'npm test -- --run',
          exitCode: 0,
          durationMs: 900,
          timedOut: false,
          output: '',
        },
      },
      {
        type: 'action-end',
        id: 'a4',
        tool: 'update_plan',
        action: {
          kind: 'plan',
          items: [
            { title: 'Fix the check', status: 'complete' },
            { title: 'Add a test', status: 'complete' },
          ],
        },
      },
      {
        type: 'action-end',
        id: 'a5',
        tool: 'make_pull_request',
        action: {
          kind: 'pull-request',
          url: 'https://github.com/acme/widgets/pull/7',
          number: 7,
          created: true,
          branch: 'ai-dev/fix-leap-year',
        },
      },
      {
        type: 'run-end',
        outcome: {
          kind: 'pull-request',
          url: 'https://github.com/acme/widgets/pull/7',
          number: 7,
          created: true,
          summary: 's',
          totals,
        },
      },
    ];
    let state = base({ model: undefined, effort: undefined, budgetDollars: undefined, branch: '' });
    const seen: string[][] = [];
    for (const [i, event] of script.entries()) {
      state = nextCardState(state, event, T0 + (i + 1) * 10_000);
      seen.push(cardTasks(state).map((t) => `${t.task_id}=${t.status}`));
    }
    expect(seen[0]).toEqual(['sandbox:acme/widgets=in_progress']);
    expect(seen[5]).toEqual(['sandbox:acme/widgets=complete', 'plan:0=in_progress', 'plan:1=pending', 'tests=error']);
    expect(seen.at(-1)).toEqual([
      'sandbox:acme/widgets=complete',
      'plan:0=complete',
      'plan:1=complete',
      'tests=complete',
      'pr:https://github.com/acme/widgets/pull/7=complete',
    ]);
    expect(state).toMatchObject({
      phase: 'done',
      model: 'gpt-6.2-astra',
      effort: 'xhigh',
      budgetDollars: 3,
      branch: 'ai-dev/fix-leap-year',
      dollars: 0.12,
      compactions: 1,
      endedAt: T0 + script.length * 10_000,
    });
    const message = statusCardMessage(state, T0 + 10 ** 9);
    expect(message.blocks?.map((b) => b.type)).toEqual(['section', 'plan', 'context']);
    expect(cardFacts(state, 0)).toBe(
      // The first tool result (the plan, 4th event, 10 s apart) came 40 s after the start: a cold start shows here.
      'gpt-6.2-astra · effort xhigh · 2 min 10 s · first result after 40 s · 11.0k tokens · *$0.12* of $3.00 · context compacted',
    );
    const pr = cardTasks(state).at(-1);
    expect(pr?.sources).toEqual([
      { type: 'url', url: 'https://github.com/acme/widgets/pull/7', text: 'Opened pull request #7' },
    ]);
    expect(cardTasks(state).find((t) => t.task_id === 'tests')?.details).toEqual({
      type: 'rich_text',
      elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: '$ npm test -- --run → exit 0' }] }],
    });
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);
  });

  it('marks our steps still in progress as failed when the run is stopped, and names who stopped it', () => {
    let state = nextCardState(base(), { type: 'run-start', repo: 'acme/widgets', baseBranch: 'main', branch: 'b' }, T0);
    state = nextCardState(state, { type: 'action-start', id: 'x', tool: 'run_command', summary: '$ pytest -q' }, T0);
    state = nextCardState(state, { type: 'run-end', outcome: { kind: 'stopped', by: 'U0BOB', totals } }, T0 + 1000);
    expect(cardTasks(state).map((t) => t.status)).toEqual(['error', 'error']);
    expect(state.phaseNote).toBe('stopped by <@U0BOB>');
    const paused = nextCardState(
      base(),
      { type: 'run-end', outcome: { kind: 'budget-reached', limit: 'tokens', totals } },
      T0,
    );
    expect(paused).toMatchObject({ phase: 'paused', phaseNote: 'reached its token limit' });
    // A continued run is running again.
    expect(
      nextCardState(paused, { type: 'run-start', repo: 'acme/widgets', baseBranch: 'main', branch: 'b' }, T0).phase,
    ).toBe('running');
  });

  it('knows test commands', () => {
    for (const command of [
      'npm test',
      '$ npm run test -- --run',
      'cd api && go test ./...',
      'pytest -q',
      'cargo test',
    ]) {
      expect(isTestCommand(command), command).toBe(true);
    }
    for (const command of ['npm run build', 'cat test/a.ts', 'git status', 'ls tests']) {
      expect(isTestCommand(command), command).toBe(false);
    }
  });
});

describe('the plan action as a thread line', () => {
  it('says how far the plan is', () => {
    expect(
      actionText({
        kind: 'plan',
        items: [
          { title: 'Read', status: 'complete' },
          { title: 'Fix <it>', status: 'in_progress' },
        ],
      }),
    ).toBe(':clipboard: Plan: 1 of 2 steps done · now: Fix &lt;it&gt;');
  });
});

describe('the card in Slack', () => {
  let fake: FakeSlack;
  let client: WebClient;
  beforeEach(async () => {
    fake = await startFakeSlack();
    client = new WebClient(fake.ids.botToken, { slackApiUrl: fake.apiUrl, logLevel: LogLevel.ERROR });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('is accepted by chat.postMessage and chat.update, folded or not', async () => {
    const small = statusCardMessage(base({ plan: items(3) }), T0);
    const posted = await client.chat.postMessage({ channel: 'C0CARD', thread_ts: '1.000001', ...small });
    const big = statusCardMessage(base({ phase: 'done', plan: items(120, (i) => (i % 2 ? 'complete' : 'error')) }), T0);
    await client.chat.update({ channel: 'C0CARD', ts: String(posted.ts), text: big.text, blocks: big.blocks ?? [] });
    const history = fake.messageHistory('C0CARD', String(posted.ts));
    expect(history.map((v) => v.via)).toEqual(['chat.postMessage', 'chat.update']);
    expect(history.at(-1)?.blocks).toEqual(big.blocks);
  });
});
