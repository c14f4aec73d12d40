/**
 * `npm run bench`: figures for spec §6 (Performance), measured against the loopback fakes of the test
 * harness with the real bot in-process. Prints tables; asserts nothing. See bench/README.md.
 */
import { cpus, platform, release } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../src/config/config.js';
import { startBot } from '../src/wiring.js';
import { type Harness, startHarness } from '../test/helpers/harness.js';
import { startDelayProxy } from './delay-proxy.js';
import { benchFirstReply, printFirstReply } from './first-reply.js';
import { benchLoad, printLoad } from './healthz-load.js';
import { linkRepo, print, section } from './lib.js';
import { benchOverlap, printOverlap } from './overlap.js';
import { benchThroughput, printThroughput } from './restate-throughput.js';
import { benchSlackCalls, printSlackCalls } from './slack-calls.js';
import { benchStartup, printStartup } from './startup.js';
import { benchWarmStart, printWarmStart } from './warm-start.js';

/** The bot at production log level (the harness defaults to debug, which costs time under load). */
const ENV = { LOG_LEVEL: 'info' };
const LOAD_RUNS = Number(process.env.BENCH_LOAD_RUNS ?? 50);
/** `BENCH_ONLY=3,5` measures those figures only. */
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean).map(Number));
const wanted = (figure: number) => ONLY.size === 0 || ONLY.has(figure);
const THROUGHPUT_RUNS = Number(process.env.BENCH_THROUGHPUT_RUNS ?? 50);

/**
 * Restarts the harness's bot with another least gap between Slack posts per channel (the harness
 * fixes 20 ms; production uses 1000 ms), keeping its store, fakes and sandbox directory.
 */
async function restartWithPostInterval(h: Harness, slackPostIntervalMs: number): Promise<void> {
  await h.bot.stop();
  const parsed = parseConfig(h.env);
  if (!parsed.ok) throw new Error(`bench config invalid: ${parsed.problems.join('; ')}`);
  const logs = new PassThrough();
  logs.resume();
  h.bot = await startBot(parsed.config, {
    logDestination: logs,
    slackClientOptions: { retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 } },
    listen: { port: 0, host: '127.0.0.1' },
    localSandboxRoot: join(h.dir, 'sandboxes'),
    slackPostIntervalMs,
  });
  h.botUrl = `http://127.0.0.1:${h.bot.httpPort}`;
}

async function withHarness<T>(
  options: Parameters<typeof startHarness>[0],
  body: (h: Harness) => Promise<T>,
): Promise<T> {
  const h = await startHarness(options);
  try {
    await linkRepo(h);
    return await body(h);
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  const began = Date.now();
  const cpu = cpus();
  print('# ai-dev benchmark (spec §6)');
  print(
    `date ${new Date().toISOString()} · node ${process.version} · ${platform()} ${release()} · ` +
      `${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'})`,
  );
  print('bot in-process in HTTP mode against loopback fakes (Slack, GitHub, OpenAI, E2B); LOG_LEVEL=info');

  if (wanted(1) || wanted(2))
    await withHarness({ env: ENV }, async (h) => {
      section('1. Mention → first thread reply (local sandbox; model answers after 200 ms)');
      printFirstReply(await benchFirstReply(h, 20, 2));

      section('2. Slack Web API calls per run (local sandbox)');
      const fast = await benchSlackCalls(h, 20);
      await restartWithPostInterval(h, 1000);
      const production = await benchSlackCalls(h, 1000);
      printSlackCalls([...fast, ...production]);
    });

  if (wanted(3)) {
    section('3. Mention → first tool result: sandbox prep and first model request overlap (E2B fake)');
    const proxy = await startDelayProxy();
    try {
      await withHarness({ sandbox: 'e2b', env: { ...ENV, E2B_API_URL: proxy.url } }, async (h) => {
        if (!h.e2b) throw new Error('the harness started no E2B fake');
        proxy.target = h.e2b.apiUrl;
        printOverlap(await benchOverlap(h, proxy, 1500, 1500, 3));
      });
    } finally {
      await proxy.close();
    }
  }

  if (wanted(4)) {
    section(`4. GET /healthz while ${LOAD_RUNS} runs go at once (local sandbox, one channel)`);
    await withHarness({ env: ENV }, async (h) => {
      printLoad(await benchLoad(h, LOAD_RUNS));
    });
  }

  if (wanted(5)) {
    section('5. Start-up: to a configuration error, to ready, and to exit when Slack cannot be reached');
    printStartup(await benchStartup(Number(process.env.BENCH_START_RUNS ?? 5)));
  }

  if (wanted(6)) {
    section('6. Mention → first tool result, cold (new sandbox + .ai-dev/setup.sh) and warm (same thread) (E2B fake)');
    await withHarness({ sandbox: 'e2b', env: ENV }, async (h) => {
      printWarmStart(await benchWarmStart(h, Number(process.env.BENCH_WARM_RUNS ?? 3)));
    });
  }

  if (wanted(7)) {
    section(`7. ${THROUGHPUT_RUNS} short runs at once: local engine vs Restate on one and two instances`);
    printThroughput(await benchThroughput(THROUGHPUT_RUNS, ENV));
  }

  print(`\nbenchmark took ${((Date.now() - began) / 1000).toFixed(1)} s`);
}

await main();
