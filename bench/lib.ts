/** Small helpers shared by the benchmark scenarios: statistics, a text table, the demo repo, waiting. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedCall } from '../test/fakes/slack-server.js';
import type { Harness } from '../test/helpers/harness.js';

export const CHANNEL = 'C0TEST';
export const REPO = 'acme/widgets';

/** 60 numbered lines, so read_file can be asked for many distinct windows. */
const LINES = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join('\n');

export const REPO_FILES: Record<string, string> = {
  'README.md': '# widgets\nRun the tests with `node test.js`.\n',
  'src/greet.js': "export const greet = (name) => 'Helo, ' + name;\n",
  'test.js': [
    "import assert from 'node:assert';",
    "import { greet } from './src/greet.js';",
    "assert.equal(greet('Ada'), 'Hello, Ada');",
    "console.log('1 test passed');",
    '',
  ].join('\n'),
  'package.json': '{ "type": "module" }\n',
  'data/lines.txt': `${LINES}\n`,
};

/** Adds the demo repo to the fake GitHub and links it to the channel. */
export async function linkRepo(h: Harness): Promise<void> {
  const [owner = '', name = ''] = REPO.split('/');
  await h.github.addRepo({ owner, name, private: true, files: REPO_FILES });
  await h.command(`link ${REPO}`, { expectResponse: true });
}

/** The first words of every terminal message (same as the harness's outcome check). */
export const TERMINAL =
  /^(:white_check_mark: (Opened|Updated) pull request|:speech_balloon: No changes needed|:octagonal_sign: Stopped|:double_vertical_bar: Budget reached|:x: The run failed)/;

export function isTerminalPost(call: RecordedCall): boolean {
  return call.method === 'chat.postMessage' && TERMINAL.test(String(call.args.text ?? ''));
}

/** The first recorded `chat.postMessage` in the thread (or undefined). */
export function firstThreadPost(h: Harness, threadTs: string): RecordedCall | undefined {
  return h.slack.calls.find((c) => c.method === 'chat.postMessage' && c.args.thread_ts === threadTs);
}

/** The terminal post of a thread, waited for (bounded), and the run really over. */
export async function waitForTerminal(h: Harness, threadTs: string, timeoutMs = 30_000): Promise<RecordedCall> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const end = h.slack.calls.find((c) => c.args.thread_ts === threadTs && isTerminalPost(c));
    if (end && !h.bot.coordinator.isRunning(CHANNEL, threadTs)) return end;
    await sleep(20);
  }
  throw new Error(`no terminal message in thread ${threadTs} within ${timeoutMs} ms`);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max: values.length === 0 ? Number.NaN : Math.max(...values),
  };
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? `${Math.round(value)}` : value.toFixed(1);
}

/** A plain left-aligned text table (first row is the header). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [head, ...body] = rows;
  return [head ? line(head) : '', rule, ...body.map(line)].join('\n');
}

export function section(title: string): void {
  process.stdout.write(`\n## ${title}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
