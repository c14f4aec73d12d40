/** Figure 2: Slack Web API calls one run costs, and how a burst of actions is coalesced. */
import { type StepResult, text, toolCalls } from '../test/fakes/openai-server.js';
import type { RecordedCall } from '../test/fakes/slack-server.js';
import type { Harness } from '../test/helpers/harness.js';
import { print, table, waitForTerminal } from './lib.js';

export interface CallCount {
  label: string;
  postInterval: number;
  actions: number;
  calls: number;
  byMethod: Record<string, number>;
  /** Thread replies that carried action lines (not the first reply, not the terminal message). */
  actionPosts: number;
  runMs: number;
}

/** A typical run: each tool call in its own model turn, then the final answer. */
function typicalScript(): StepResult[] {
  return [
    toolCalls([{ name: 'list_files', arguments: { path: '.' } }]),
    toolCalls([{ name: 'read_file', arguments: { path: 'src/greet.js' } }]),
    toolCalls([{ name: 'edit_file', arguments: { path: 'src/greet.js', old_text: 'Helo', new_text: 'Hello' } }]),
    toolCalls([{ name: 'run_command', arguments: { command: 'node test.js' } }]),
    toolCalls([{ name: 'commit', arguments: { message: 'Fix the greeting typo' } }]),
    toolCalls([{ name: 'make_pull_request', arguments: { title: 'Fix the greeting typo', body: 'Hello, not Helo.' } }]),
    text('Fixed the typo; `node test.js` passes.'),
  ];
}

/** `count` quick read_file calls (distinct windows), `perTurn` at a time, then the final answer. */
function burstScript(count: number, perTurn: number): StepResult[] {
  const steps: StepResult[] = [];
  for (let start = 1; start <= count; start += perTurn) {
    const calls = [];
    for (let line = start; line < start + perTurn && line <= count; line++) {
      calls.push({ name: 'read_file', arguments: { path: 'data/lines.txt', start_line: line, end_line: line } });
    }
    steps.push(toolCalls(calls));
  }
  steps.push(text('Read every line; nothing to change.'));
  return steps;
}

async function countRun(
  h: Harness,
  label: string,
  postInterval: number,
  task: string,
  steps: StepResult[],
  actions: number,
): Promise<CallCount> {
  h.openai.script(steps);
  const firstIndex = h.slack.calls.length;
  const sent = Date.now();
  const root = await h.mention(task);
  const end = await waitForTerminal(h, root, 60_000);
  // The status card's last edit may follow the outcome by up to its 2 s interval.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const window = h.slack.calls.slice(firstIndex);
  // A card edit names the message it edits, not the thread: count edits of this thread's posts.
  const posted = new Set(
    window
      .filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root)
      .map((c) => String(c.response?.ts)),
  );
  // Runs here are one at a time, so users.info calls in the window belong to this run.
  const own = (c: RecordedCall) =>
    c.args.thread_ts === root ||
    c.args.message_ts === root ||
    (c.method === 'chat.update' && posted.has(String(c.args.ts))) ||
    (c.method === 'users.info' && c.at >= sent);
  const calls = window.filter(own);
  const byMethod: Record<string, number> = {};
  for (const c of calls) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
  const posts = calls.filter((c) => c.method === 'chat.postMessage');
  return {
    label,
    postInterval,
    actions,
    calls: calls.length,
    byMethod,
    actionPosts: Math.max(0, posts.length - 2),
    runMs: end.at - sent,
  };
}

export async function benchSlackCalls(h: Harness, postInterval: number, burst = 50): Promise<CallCount[]> {
  return [
    await countRun(h, 'typical run (6 tools + answer)', postInterval, 'fix the greeting typo', typicalScript(), 6),
    await countRun(
      h,
      `${burst} quick actions (read_file ×5 per turn)`,
      postInterval,
      'read data/lines.txt line by line',
      burstScript(burst, 5),
      burst,
    ),
  ];
}

export function printSlackCalls(rows: CallCount[]): void {
  print(
    table([
      ['run', 'post gap ms', 'actions', 'Slack calls', 'action replies', 'run ms', 'calls by method'],
      ...rows.map((r) => [
        r.label,
        String(r.postInterval),
        String(r.actions),
        String(r.calls),
        String(r.actionPosts),
        String(r.runMs),
        Object.entries(r.byMethod)
          .map(([m, n]) => `${m} ${n}`)
          .join(', '),
      ]),
    ]),
  );
  print(
    "'action replies' = thread posts that carry action lines (all posts minus the first reply and the terminal " +
      "message); 'post gap' = least time between two posts in a channel (harness 20 ms, production 1000 ms).",
  );
}
