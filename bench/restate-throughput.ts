/**
 * Figure 6: runs per minute and p95 of mention → final message for N short scripted runs started at once,
 * with the local engine (one instance) and with RUN_ENGINE=restate on one instance and on two instances
 * behind a TCP balancer (a real restate-server from node_modules, Redis for the shared store).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../src/config/config.js';
import { type RunningBot, startBot } from '../src/wiring.js';
import { text, toolCalls } from '../test/fakes/openai-server.js';
import { DEFAULT_IDS, mentionEvent, messageEvent, nextTs, sendEvent } from '../test/fakes/slack-server.js';
import { freePort } from '../test/helpers/free-port.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../test/helpers/harness.js';
import { startRestateServer } from '../test/helpers/restate-server.js';
import { startTcpBalancer } from '../test/helpers/tcp-balancer.js';
import { CHANNEL, isTerminalPost, linkRepo, ms, print, type Summary, summarize, table } from './lib.js';

export interface ThroughputResult {
  setup: string;
  runs: number;
  perMinute: number;
  endToEnd: Summary;
}

/** N runs at once (one tool call, one answer each), mentions spread over the given bot URLs. */
async function burst(h: Harness, urls: string[], runs: number, setup: string): Promise<ThroughputResult> {
  const steps = [];
  for (let i = 0; i < runs; i++) steps.push(toolCalls([{ name: 'run_command', arguments: { command: 'true' } }]));
  // Requests take the scripted steps in arrival order: first every run's tool call, then the answers.
  h.openai.script([...steps, ...Array.from({ length: runs }, () => text('ok'))]);
  const began = Date.now();
  const sent = new Map<string, number>();
  await Promise.all(
    Array.from({ length: runs }, async (_, i) => {
      const ts = nextTs();
      const url = urls[i % urls.length] ?? '';
      const fields = { channel: CHANNEL, ts, text: `<@${DEFAULT_IDS.botUserId}> run ${i + 1}` };
      sent.set(ts, Date.now());
      await Promise.all([
        sendEvent(url, SIGNING_SECRET, mentionEvent(fields)),
        sendEvent(urls[(i + 1) % urls.length] ?? url, SIGNING_SECRET, messageEvent(fields)),
      ]);
    }),
  );
  const deadline = Date.now() + 180_000;
  const ended = new Map<string, number>();
  while (ended.size < runs && Date.now() < deadline) {
    for (const call of h.slack.calls) {
      const ts = String(call.args.thread_ts ?? '');
      if (sent.has(ts) && !ended.has(ts) && isTerminalPost(call)) ended.set(ts, call.at);
    }
    await sleep(50);
  }
  const durations = [...ended].map(([ts, at]) => at - (sent.get(ts) ?? at));
  const last = Math.max(...ended.values());
  return {
    setup,
    runs: ended.size,
    perMinute: (ended.size / Math.max(1, last - began)) * 60_000,
    endToEnd: summarize(durations),
  };
}

async function secondInstance(h: Harness, restatePort: number): Promise<RunningBot> {
  const parsed = parseConfig(h.env);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return startBot(parsed.config, {
    logDestination: new PassThrough().resume(),
    listen: { port: 0, host: '127.0.0.1' },
    localSandboxRoot: join(h.dir, 'sandboxes'),
    slackPostIntervalMs: 20,
    github: { throttle: false, retries: 0 },
    restateListen: { port: restatePort, host: '127.0.0.1' },
  });
}

export async function benchThroughput(runs: number, env: Record<string, string>): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  const local = await startHarness({ env });
  try {
    await linkRepo(local);
    results.push(await burst(local, [local.botUrl], runs, 'local engine, 1 instance (SQLite)'));
  } finally {
    await local.close();
  }
  for (const instances of [1, 2]) {
    const restate = await startRestateServer();
    const ports = [await freePort(), await freePort()];
    const balancer = await startTcpBalancer(ports.slice(0, instances));
    let h: Harness | undefined;
    let second: RunningBot | undefined;
    try {
      h = await startHarness({
        env: {
          ...env,
          STORE_URL: `redis://127.0.0.1:6379?namespace=bench-${randomUUID()}`,
          RUN_ENGINE: 'restate',
          RESTATE_INGRESS_URL: restate.ingressUrl,
          RESTATE_ADMIN_URL: restate.adminUrl,
          RESTATE_SERVICE_URL: balancer.url,
        },
        overrides: { restateListen: { port: ports[0] ?? 0, host: '127.0.0.1' } },
      });
      if (instances === 2) second = await secondInstance(h, ports[1] ?? 0);
      await linkRepo(h);
      const urls = second ? [h.botUrl, `http://127.0.0.1:${second.httpPort}`] : [h.botUrl];
      results.push(await burst(h, urls, runs, `restate, ${instances} instance${instances === 1 ? '' : 's'} (Redis)`));
    } finally {
      await second?.stop();
      await h?.close();
      await balancer.close();
      await restate.stop();
    }
  }
  return results;
}

export function printThroughput(results: ThroughputResult[]): void {
  print(
    table([
      ['setup', 'runs done', 'runs/min', 'p50 mention → final', 'p95 mention → final', 'max'],
      ...results.map((r) => [
        r.setup,
        String(r.runs),
        r.perMinute.toFixed(0),
        ms(r.endToEnd.p50),
        ms(r.endToEnd.p95),
        ms(r.endToEnd.max),
      ]),
    ]),
  );
  print(
    'Restate calls a deployment over one HTTP/2 connection and the test balancer splits per connection, so with two instances the runs themselves mostly execute on one of them; Slack intake is split.',
  );
}
