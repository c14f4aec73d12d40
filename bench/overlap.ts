/**
 * Figure 3: a run prepares its sandbox and sends its first model request at the same time (spec §6), so the
 * first tool result should come after about max(sandbox prep, model latency), not their sum. The model is
 * slowed with the fake's `delay`; the sandbox start with a proxy that holds E2B's "create sandbox" call.
 */
import { delay, text, toolCalls } from '../test/fakes/openai-server.js';
import type { Harness } from '../test/helpers/harness.js';
import type { DelayProxy } from './delay-proxy.js';
import { ms, percentile, print, table, waitForTerminal } from './lib.js';

export interface OverlapRow {
  modelDelayMs: number;
  createDelayMs: number;
  /** Mention → first model request at the fake (median). */
  firstRequestMs: number;
  /** Mention → second model request, which carries the first tool output (median). */
  firstResultMs: number;
  samples: number[];
}

export interface OverlapResult {
  rows: OverlapRow[];
  modelDelayMs: number;
  createDelayMs: number;
}

async function once(h: Harness, proxy: DelayProxy, modelDelayMs: number, createDelayMs: number, n: number) {
  proxy.delayMs = createDelayMs;
  let firstAt = 0;
  let secondAt = 0;
  h.openai.script([
    () => {
      firstAt = Date.now();
      return delay(modelDelayMs, toolCalls([{ name: 'list_files', arguments: { path: '.' } }]));
    },
    () => {
      secondAt = Date.now();
      return text('The repo has a README, src/ and a test.');
    },
  ]);
  const sent = Date.now();
  const root = await h.mention(`what is in this repo? (overlap ${n})`);
  await waitForTerminal(h, root, 60_000);
  return { first: firstAt - sent, result: secondAt - sent };
}

export async function benchOverlap(
  h: Harness,
  proxy: DelayProxy,
  modelDelayMs = 1500,
  createDelayMs = 1500,
  reps = 3,
): Promise<OverlapResult> {
  proxy.slow = (method, path) => method === 'POST' && /\/sandboxes$/.test(path);
  const combos: Array<[number, number]> = [
    [0, 0],
    [modelDelayMs, 0],
    [0, createDelayMs],
    [modelDelayMs, createDelayMs],
  ];
  const firsts = combos.map(() => [] as number[]);
  const results = combos.map(() => [] as number[]);
  // One warm-up run (JIT, first E2B connection), not counted.
  await once(h, proxy, 0, 0, 0);
  let n = 1;
  for (let rep = 0; rep < reps; rep++) {
    for (const [i, [model, create]] of combos.entries()) {
      const r = await once(h, proxy, model, create, n++);
      firsts[i]?.push(r.first);
      results[i]?.push(r.result);
    }
  }
  proxy.delayMs = 0;
  return {
    modelDelayMs,
    createDelayMs,
    rows: combos.map(([model, create], i) => ({
      modelDelayMs: model,
      createDelayMs: create,
      firstRequestMs: percentile(firsts[i] ?? [], 50),
      firstResultMs: percentile(results[i] ?? [], 50),
      samples: results[i] ?? [],
    })),
  };
}

export function printOverlap(r: OverlapResult): void {
  print(
    table([
      ['model delay', 'sandbox create delay', '1st model request', '1st tool result (median)', 'samples'],
      ...r.rows.map((row) => [
        String(row.modelDelayMs),
        String(row.createDelayMs),
        ms(row.firstRequestMs),
        ms(row.firstResultMs),
        row.samples.map((s) => String(s)).join(' '),
      ]),
    ]),
  );
  const find = (m: number, c: number) => r.rows.find((row) => row.modelDelayMs === m && row.createDelayMs === c);
  const sandboxPath = find(0, r.createDelayMs)?.firstResultMs ?? Number.NaN;
  const modelPath = find(r.modelDelayMs, 0)?.firstResultMs ?? Number.NaN;
  const base = find(0, 0)?.firstResultMs ?? Number.NaN;
  const both = find(r.modelDelayMs, r.createDelayMs)?.firstResultMs ?? Number.NaN;
  print(
    `sandbox prep (E2B fake create + clone + branch, instant model): ${ms(base)} ms; ` +
      `with create held ${r.createDelayMs} ms: ${ms(sandboxPath)} ms`,
  );
  print(`model path alone (model ${r.modelDelayMs} ms, fast sandbox): ${ms(modelPath)} ms`);
  const max = Math.max(sandboxPath, modelPath);
  const sum = sandboxPath + modelPath;
  print(
    `both slow: observed ${ms(both)} ms; max(sandbox path, model path) = ${ms(max)} ms, ` +
      `their sum = ${ms(sum)} ms → ${Math.abs(both - max) < Math.abs(both - sum) ? 'overlapped (close to the max)' : 'NOT overlapped (close to the sum)'}`,
  );
}
