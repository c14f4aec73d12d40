import { LogLevel, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ActionReport, RunEvent, RunOutcome, RunTotals } from '../../src/agent/events.js';
import { createRedactor, REDACTED } from '../../src/lib/redact.js';
import { blockTextLength, CONTINUE_ACTION_ID, STOP_ACTION_ID, workingMessage } from '../../src/slack/blocks.js';
import { PostQueue, PostQueues } from '../../src/slack/post-queue.js';
import { SlackReporter, type SlackReporterOptions } from '../../src/slack/reporter.js';
import { type FakeSlack, type RecordedCall, type StoredMessage, startFakeSlack } from '../fakes/slack-server.js';
import { drive, useFakeClock } from '../helpers/fake-clock.js';
import { captureLogger } from '../helpers/logger.js';

const CHANNEL = 'C0REPORT';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

let fake: FakeSlack;
let client: WebClient;

beforeEach(async () => {
  fake = await startFakeSlack();
  client = new WebClient(fake.ids.botToken, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 },
    logLevel: LogLevel.ERROR,
  });
});

afterEach(async () => {
  vi.useRealTimers();
  await fake.close();
});

function reporter(
  threadTs: string,
  overrides: Partial<SlackReporterOptions> & { interval?: number } = {},
): { reporter: SlackReporter; queue: PostQueue; log: ReturnType<typeof captureLogger> } {
  const log = captureLogger();
  const queue =
    overrides.queue ?? new PostQueue({ channel: CHANNEL, logger: log.logger, minIntervalMs: overrides.interval ?? 50 });
  const r = new SlackReporter({
    client,
    channel: CHANNEL,
    threadTs,
    redact: createRedactor([]),
    logger: log.logger,
    queue,
    ...overrides,
  });
  return { reporter: r, queue, log };
}

function accepted(threadTs?: string): RecordedCall[] {
  return fake
    .callsOf('chat.postMessage')
    .filter((c) => c.status === 200 && c.response?.ok === true && (!threadTs || c.args.thread_ts === threadTs));
}

function thread(threadTs: string): StoredMessage[] {
  return fake.threadMessages(CHANNEL, threadTs);
}

/** Numbers of `file-<n>.ts` in the thread, in reading order. */
function fileNumbers(threadTs: string): number[] {
  const text = thread(threadTs)
    .map((m) => m.text)
    .join('\n');
  return [...text.matchAll(/file-(\d+)\.ts/g)].map((m) => Number(m[1]));
}

const totals: RunTotals = {
  turns: 7,
  inputTokens: 10_000,
  outputTokens: 2345,
  totalTokens: 12_345,
  elapsedMs: 184_000,
  sandboxMs: 190_000,
  filesChanged: ['src/date.ts', 'test/date.test.ts'],
  commands: [
    { command: 'npm test', exitCode: 1, durationMs: 3000 },
    { command: 'npm run lint', exitCode: 0, durationMs: 1200 },
    { command: 'npm test', exitCode: 0, durationMs: 4100 },
  ],
};

const prOutcome: RunOutcome = {
  kind: 'pull-request',
  url: 'https://github.com/acme/widgets/pull/42',
  number: 42,
  created: true,
  summary: 'Fixed the **date parser** and added a test.',
  totals,
};

function actionEnd(i: number, action?: ActionReport): RunEvent {
  return {
    type: 'action-end',
    id: `a${i}`,
    tool: 'edit_file',
    action: action ?? { kind: 'file-edited', path: `src/file-${i}.ts`, added: i, removed: 1 },
  };
}

describe('SlackReporter', () => {
  it('never waits on Slack: handle returns at once and nothing is posted in the same tick', async () => {
    const { reporter: r } = reporter('100.000001');
    for (const i of range(50)) expect(r.handle(actionEnd(i))).toBeUndefined();
    expect(fake.calls).toHaveLength(0);
    await r.flush();
    expect(accepted()).toHaveLength(1);
    expect(fileNumbers('100.000001')).toEqual(range(50));
  });

  it('coalesces 50 quick actions into few replies, every action shown in order', async () => {
    const interval = 100;
    useFakeClock();
    const { reporter: r } = reporter('100.000002', { interval });
    const started = Date.now();
    // An action every 4 ms of the reporter's clock.
    await drive(
      (async () => {
        for (const i of range(50)) {
          r.handle(actionEnd(i));
          await new Promise((resolve) => setTimeout(resolve, 4));
        }
        await r.flush();
      })(),
      4,
    );
    const elapsed = Date.now() - started;
    const posts = accepted('100.000002');
    expect(posts.length).toBeLessThanOrEqual(Math.floor(elapsed / interval) + 1);
    expect(posts.length).toBeLessThan(25);
    for (const post of posts) expect(post.args.thread_ts).toBe('100.000002');
    expect(fileNumbers('100.000002')).toEqual(range(50));
    expect(thread('100.000002')[0]?.text).toContain(':pencil2: Edited `src/file-0.ts` (+0 −1)');
  });

  it('shares one channel budget between two runs in the same channel', async () => {
    const interval = 120;
    useFakeClock();
    const log = captureLogger();
    const queues = new PostQueues({ logger: log.logger, minIntervalMs: interval });
    const a = reporter('200.000001', { queue: queues.forChannel(CHANNEL) }).reporter;
    const b = reporter('200.000002', { queue: queues.forChannel(CHANNEL) }).reporter;
    await drive(
      (async () => {
        for (const i of range(25)) {
          a.handle(actionEnd(i));
          b.handle(actionEnd(i));
          await new Promise((resolve) => setTimeout(resolve, 8));
        }
        a.handle({ type: 'run-end', outcome: prOutcome });
        b.handle({ type: 'run-end', outcome: { kind: 'stopped', by: 'U0STOPPER', totals } });
        await Promise.all([a.flush(), b.flush()]);
      })(),
      4,
    );

    // Arrival times on the (fake) clock both reporters share: the channel's spacing holds exactly.
    const posts = accepted();
    for (let i = 1; i < posts.length; i += 1) {
      expect((posts[i]?.at ?? 0) - (posts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(interval);
    }
    expect(fileNumbers('200.000001')).toEqual(range(25));
    expect(fileNumbers('200.000002')).toEqual(range(25));
    expect(thread('200.000001').at(-1)?.text).toContain('pull/42');
    expect(thread('200.000002').at(-1)?.text).toContain('Stopped by <@U0STOPPER>');
  });

  it('loses nothing when chat.postMessage is rate limited (429 + Retry-After)', async () => {
    const { reporter: r } = reporter('300.000001', { interval: 50 });
    fake.rateLimit({ method: 'chat.postMessage', times: 1, retryAfterSeconds: 1 });
    for (const i of range(20)) {
      r.handle(actionEnd(i));
      await sleep(25);
    }
    r.handle({ type: 'run-end', outcome: prOutcome });
    await r.flush();
    expect(fake.rateLimited).toBe(1);
    expect(fileNumbers('300.000001')).toEqual(range(20));
    expect(thread('300.000001').at(-1)?.text).toContain('https://github.com/acme/widgets/pull/42');
  });

  it('logs a post that fails and retries it with the next batch', async () => {
    const { reporter: r, log } = reporter('300.000002', { interval: 30 });
    fake.failNext('chat.postMessage', 'fatal_error');
    r.handle(actionEnd(0));
    await sleep(10);
    r.handle(actionEnd(1));
    r.handle({ type: 'run-end', outcome: prOutcome });
    await r.flush();
    expect(fileNumbers('300.000002')).toEqual([0, 1]);
    expect(thread('300.000002').at(-1)?.text).toContain('pull/42');
    expect(log.lines().some((l) => l.level === 40 && l.error === 'fatal_error')).toBe(true);
  });

  it('ends with the terminal reply: PR link, files, commands, turns, tokens and elapsed time', async () => {
    const { reporter: r } = reporter('400.000001');
    r.handle({ type: 'run-start', repo: 'acme/widgets', baseBranch: 'main', branch: 'ai-dev/fix-dates' });
    r.handle({ type: 'model-text', text: 'Let me look at the **date parser** first.' });
    r.handle({ type: 'action-start', id: 'a1', tool: 'run_command', summary: 'npm test' });
    r.handle({
      type: 'action-end',
      id: 'a1',
      tool: 'run_command',
      action: {
        kind: 'command',
        command: 'npm test',
        exitCode: 1,
        durationMs: 3000,
        timedOut: false,
        output: 'FAIL x',
      },
    });
    r.handle(actionEnd(1));
    r.handle({
      type: 'action-end',
      id: 'a2',
      tool: 'commit',
      action: { kind: 'commit', sha: 'abcdef1234567', message: 'Fix dates', files: 2 },
    });
    r.handle({
      type: 'action-end',
      id: 'a3',
      tool: 'make_pull_request',
      action: { kind: 'pull-request', url: prOutcome.url, number: 42, created: true, branch: 'ai-dev/fix-dates' },
    });
    r.handle({ type: 'usage', turns: 7, inputTokens: 10_000, outputTokens: 2345, totalTokens: 12_345 });
    r.handle({ type: 'run-end', outcome: prOutcome });
    await r.flush();

    const messages = thread('400.000001');
    const progress = messages
      .slice(0, -1)
      .map((m) => m.text)
      .join('\n');
    expect(progress).toContain(':speech_balloon: Let me look at the *date parser* first.');
    expect(progress).toContain('✗ `npm test` · exit 1 · 3.0 s');
    expect(progress).toContain(':package: Committed `abcdef1` Fix dates (2 files)');
    expect(progress.indexOf('Committed')).toBeLessThan(progress.indexOf('Opened pull request'));

    const last = messages.at(-1);
    const text = last?.text ?? '';
    expect(text).toContain('Opened pull request <https://github.com/acme/widgets/pull/42|#42>');
    expect(text).toContain('Fixed the *date parser* and added a test.');
    expect(text).toContain('`src/date.ts`');
    expect(text).toContain('`test/date.test.ts`');
    expect(text).toContain('✓ `npm test` · exit 0 · 4.1 s (run 2×)');
    expect(text).toContain('✓ `npm run lint`');
    expect(text).toContain('7 model turns');
    expect(text).toContain('12,345 tokens');
    expect(text).toContain('3 min 4 s');
    const blockText = JSON.stringify(last?.blocks);
    for (const part of ['pull/42', 'src/date.ts', 'npm test', '7 model turns', '12,345 tokens', '3 min 4 s']) {
      expect(blockText).toContain(part);
    }
    // The terminal reply is the last call of all.
    expect(accepted().at(-1)?.args.text).toBe(text);
  });

  it('words every other terminal state, with Continue on budget reached', async () => {
    const outcomes: Array<[string, RunOutcome]> = [
      ['500.000001', { kind: 'no-changes', answer: 'The parser already handles leap years.', totals }],
      ['500.000002', { kind: 'stopped', by: 'U0ALICE', totals }],
      ['500.000003', { kind: 'budget-reached', limit: 'turns', totals }],
      [
        '500.000004',
        { kind: 'failed', reason: 'The sandbox could not be created.', reference: 'ERR-1A2B3C4D', totals },
      ],
    ];
    const log = captureLogger();
    const queue = new PostQueue({ channel: CHANNEL, logger: log.logger, minIntervalMs: 10 });
    const reporters = outcomes.map(([ts, outcome]) => {
      const r = reporter(ts, { queue, threadKey: `key-${ts}` }).reporter;
      r.handle({ type: 'run-end', outcome });
      return r;
    });
    await Promise.all(reporters.map((r) => r.flush()));

    expect(thread('500.000001')[0]?.text).toContain('No changes needed.\nThe parser already handles leap years.');
    expect(thread('500.000002')[0]?.text).toContain('Stopped by <@U0ALICE>');
    const budget = thread('500.000003')[0];
    expect(budget?.text).toContain('Budget reached');
    expect(budget?.text).toContain('model turns (7 turns)');
    const button = JSON.stringify(budget?.blocks);
    expect(button).toContain(`"action_id":"${CONTINUE_ACTION_ID}"`);
    expect(button).toContain('"value":"key-500.000003"');
    const failed = thread('500.000004')[0]?.text ?? '';
    expect(failed).toContain('The run failed: The sandbox could not be created.');
    expect(failed).toContain('ERR-1A2B3C4D');
    for (const [ts] of outcomes) expect(thread(ts)[0]?.text).toContain('12,345 tokens');
  });

  it('never posts a secret given to the redactor', async () => {
    const secret = 'hunter2-super-secret-value';
    const { reporter: r } = reporter('600.000001', { redact: createRedactor([secret]) });
    r.handle({ type: 'model-text', text: `I will use the key ${secret} now` });
    r.handle({ type: 'sandbox-ready', repo: 'acme/widgets', sandboxId: 'sb1', reused: false, note: `env ${secret}` });
    r.handle({ type: 'action-start', id: 'c', tool: 'run_command', summary: `curl -H ${secret}` });
    r.handle({
      type: 'action-end',
      id: 'c',
      tool: 'run_command',
      action: {
        kind: 'command',
        command: `curl -H "Authorization: ${secret}"`,
        exitCode: 7,
        durationMs: 20,
        timedOut: false,
        // The secret sits across where a trim would cut.
        output: `${'a'.repeat(700)}${secret}${'b'.repeat(60_000)}${secret} xoxb-1234-5678-abcdefgh`,
      },
    });
    r.handle(
      actionEnd(1, { kind: 'file-written', path: `${secret}.txt`, bytes: 1, added: 1, removed: 0, created: true }),
    );
    r.handle({
      type: 'action-end',
      id: 'f',
      tool: 'edit_file',
      action: { kind: 'failed', error: `edit_file: ${secret}` },
    });
    r.handle({
      type: 'run-end',
      outcome: { kind: 'failed', reason: `token ${secret} rejected`, reference: 'ERR-00000001', totals },
    });
    await r.flush();
    const recorded = JSON.stringify(fake.calls);
    expect(recorded).not.toContain(secret);
    expect(recorded).not.toContain('hunter2');
    expect(recorded).not.toContain('xoxb-1234');
    expect(recorded).toContain(REDACTED);
  });

  it('trims a 60 000-character command output into a code block within Slack limits', async () => {
    const { reporter: r } = reporter('700.000001');
    const output = `START-OF-OUTPUT\n${'0123456789 ```\n'.repeat(4000)}END-OF-OUTPUT`;
    expect(output.length).toBeGreaterThan(60_000);
    r.handle({
      type: 'action-end',
      id: 'big',
      tool: 'run_command',
      action: { kind: 'command', command: 'npm test', exitCode: 1, durationMs: 9000, timedOut: false, output },
    });
    r.handle({ type: 'run-end', outcome: { ...prOutcome, summary: 'x'.repeat(50_000) } });
    await r.flush();
    const calls = accepted('700.000001');
    for (const call of calls) {
      const text = String(call.args.text);
      expect(text.length).toBeLessThanOrEqual(40_000);
      expect(text.split('```').length % 2).toBe(1);
      expect(blockTextLength((call.args.blocks as unknown[] | undefined) ?? [])).toBeLessThanOrEqual(12_000);
    }
    const first = String(calls[0]?.args.text);
    expect(first.length).toBeLessThan(2000);
    expect(first).toContain('START-OF-OUTPUT');
    expect(first).toContain('END-OF-OUTPUT');
    expect(first).toContain('characters cut');
  });

  it('shows a run_command still going after a while, and not a quick one', async () => {
    useFakeClock();
    const { reporter: r } = reporter('800.000001', { slowCommandMs: 40 });
    r.handle({ type: 'action-start', id: 'quick', tool: 'run_command', summary: 'echo hi' });
    r.handle({
      type: 'action-end',
      id: 'quick',
      tool: 'run_command',
      action: { kind: 'command', command: 'echo hi', exitCode: 0, durationMs: 5, timedOut: false, output: 'hi' },
    });
    r.handle({ type: 'action-start', id: 'slow', tool: 'run_command', summary: 'npm test' });
    // 120 ms of the reporter's clock pass while npm test runs; the quick command had ended at once.
    await drive(new Promise((resolve) => setTimeout(resolve, 120)));
    r.handle({
      type: 'action-end',
      id: 'slow',
      tool: 'run_command',
      action: { kind: 'command', command: 'npm test', exitCode: 0, durationMs: 120, timedOut: false, output: '' },
    });
    await drive(r.flush());
    const text = thread('800.000001')
      .map((m) => m.text)
      .join('\n');
    expect(text).toContain('Still running after 40 ms: npm test');
    expect(text).not.toContain('Still running after 40 ms: echo hi');
    expect(text.indexOf('Still running')).toBeLessThan(text.indexOf('✓ `npm test`'));
  });

  it('refuses a queue of another channel', () => {
    const log = captureLogger();
    const queue = new PostQueue({ channel: 'C0OTHER', logger: log.logger });
    expect(() => reporter('900.000001', { queue })).toThrow(/C0OTHER/);
  });
});

describe('workingMessage', () => {
  it('has a Stop button carrying the thread key', () => {
    const message = workingMessage({ repo: 'acme/widgets', baseBranch: 'main', threadKey: 'C1:123.456' });
    expect(message.text).toContain('Working on *acme/widgets* @ `main`');
    const json = JSON.stringify(message.blocks);
    expect(json).toContain(`"action_id":"${STOP_ACTION_ID}"`);
    expect(json).toContain('"value":"C1:123.456"');
  });
});
