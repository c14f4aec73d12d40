/**
 * Figure 4: many runs at once must leave `GET /healthz` prompt (spec §6: nothing blocks the event loop).
 * Every model step waits 2 s (like a slow model), the run sleeps 1 s in a command, then answers.
 */
import { Agent, get } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { delay, type StepFn, text, toolCalls } from '../test/fakes/openai-server.js';
import type { Harness } from '../test/helpers/harness.js';
import { CHANNEL, isTerminalPost, ms, print, type Summary, summarize, table } from './lib.js';

export interface LoadResult {
  runs: number;
  finished: number;
  outcomes: Record<string, number>;
  /** First mention sent → last terminal message. */
  wallMs: number;
  runMs: Summary;
  ackMs: Summary;
  firstReplyMs: Summary;
  firstRequestMs: Summary;
  secondRequestMs: Summary;
  healthz: Summary;
  healthzErrors: number;
  loopDelay: { p99: number; max: number };
  timedOut: boolean;
}

const MODEL_MS = 2000;
const POLL_MS = 20;

/** One healthz request; its latency in ms, or -1 on error. */
function healthz(url: string, agent: Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = get(url, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : -1));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(-1));
  });
}

export async function benchLoad(h: Harness, runs: number, timeoutMs = 90_000): Promise<LoadResult> {
  // Steps are taken in arrival order by whichever run asks, so each decides from the request itself.
  const firstRequests: number[] = [];
  const secondRequests: number[] = [];
  const step: StepFn = (req) => {
    if (req.functionCallOutputs.length === 0) {
      firstRequests.push(Date.now());
      return delay(MODEL_MS, toolCalls([{ name: 'run_command', arguments: { command: 'sleep 1' } }]));
    }
    secondRequests.push(Date.now());
    return delay(MODEL_MS, text('Slept for a second; nothing to change.'));
  };
  h.openai.script(Array.from({ length: runs * 2 + 10 }, () => step));

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let healthzErrors = 0;
  let polling = true;
  const poller = (async () => {
    const stopAt = Date.now() + timeoutMs + 5000;
    while (polling && Date.now() < stopAt) {
      const latency = await healthz(`${h.botUrl}/healthz`, agent);
      if (latency < 0) healthzErrors += 1;
      else latencies.push(latency);
      await sleep(POLL_MS);
    }
  })();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();

  const firstIndex = h.slack.calls.length;
  const started = Date.now();
  const acks: number[] = [];
  const roots = await Promise.all(
    Array.from({ length: runs }, async (_, i) => {
      const root = await h.mention(`sleep a second and tell me (load run ${i + 1})`);
      acks.push(Date.now() - started);
      return root;
    }),
  );
  const pending = new Set(roots);
  const ends = new Map<string, { at: number; text: string }>();
  const deadline = Date.now() + timeoutMs;
  let scanned = firstIndex;
  while (pending.size > 0 && Date.now() < deadline) {
    const calls = h.slack.calls;
    for (; scanned < calls.length; scanned++) {
      const call = calls[scanned];
      const thread = String(call?.args.thread_ts ?? '');
      if (call && pending.has(thread) && isTerminalPost(call)) {
        ends.set(thread, { at: call.at, text: String(call.args.text) });
      }
    }
    for (const root of [...pending]) {
      if (ends.has(root) && !h.bot.coordinator.isRunning(CHANNEL, root)) pending.delete(root);
    }
    if (pending.size > 0) await sleep(100);
  }
  polling = false;
  await poller;
  loop.disable();
  agent.destroy();

  const outcomes: Record<string, number> = {};
  for (const { text } of ends.values()) {
    const kind = /^:\S+: ([A-Za-z ]+?)(?: <|[.:(]|$)/.exec(text)?.[1] ?? text.slice(0, 30);
    outcomes[kind] = (outcomes[kind] ?? 0) + 1;
  }
  const rootSet = new Set(roots);
  const firstReplies = new Map<string, number>();
  for (const call of h.slack.calls.slice(firstIndex)) {
    const thread = String(call.args.thread_ts ?? '');
    if (call.method === 'chat.postMessage' && rootSet.has(thread) && !firstReplies.has(thread)) {
      firstReplies.set(thread, call.at - started);
    }
  }
  const endTimes = [...ends.values()].map((e) => e.at);
  return {
    runs,
    finished: ends.size,
    outcomes,
    wallMs: endTimes.length > 0 ? Math.max(...endTimes) - started : Number.NaN,
    runMs: summarize(endTimes.map((at) => at - started)),
    ackMs: summarize(acks),
    firstReplyMs: summarize([...firstReplies.values()]),
    firstRequestMs: summarize(firstRequests.map((at) => at - started)),
    secondRequestMs: summarize(secondRequests.map((at) => at - started)),
    healthz: summarize(latencies),
    healthzErrors,
    loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    timedOut: pending.size > 0,
  };
}

export function printLoad(r: LoadResult): void {
  const row = (label: string, s: Summary) => [label, String(s.n), ms(s.p50), ms(s.p95), ms(s.max)];
  print(
    table([
      ['measure (ms)', 'n', 'p50', 'p95', 'max'],
      row(`GET /healthz latency, polled every ${POLL_MS} ms during the load`, r.healthz),
      row('mentions sent → both events acked (HTTP 200)', r.ackMs),
      row('mentions sent → first thread reply', r.firstReplyMs),
      row('mentions sent → first model request', r.firstRequestMs),
      row('mentions sent → 2nd model request (command output)', r.secondRequestMs),
      row('mentions sent → terminal message', r.runMs),
    ]),
  );
  print(
    `${r.finished}/${r.runs} runs finished in ${ms(r.wallMs)} ms (first mention sent → last terminal message)` +
      `${r.timedOut ? ' — TIMED OUT waiting for the rest' : ''}; ` +
      `a run alone needs ≥ ${2 * MODEL_MS + 1000} ms (2 model steps × ${MODEL_MS} ms + sleep 1)`,
  );
  print(
    `outcomes: ${Object.entries(r.outcomes)
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ')}; /healthz errors: ${r.healthzErrors}; event-loop delay of the process ` +
      `(bot + fakes + poller): p99 ${ms(r.loopDelay.p99)} ms, max ${ms(r.loopDelay.max)} ms`,
  );
}
