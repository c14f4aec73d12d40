import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { type RunningBot, startBot } from '../../src/wiring.js';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS, mentionEvent, messageEvent, nextTs, sendBlockAction, sendEvent } from '../fakes/slack-server.js';
import { freePort } from '../helpers/free-port.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';
import { type RestateServer, startRestateServer } from '../helpers/restate-server.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';

const IDLE_MS = 5_000;

// RUN_ENGINE=restate: a real restate-server on loopback, two bot instances sharing Redis behind one TCP
// balancer (the deployment Restate calls), Slack events sent to either instance.
describe('two bot instances on Restate', () => {
  let restate: RestateServer;
  let balancer: TcpBalancer;
  let h: Harness;
  let second: RunningBot;
  let secondLogs = '';
  const channel = `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
  const urls = () => [h.botUrl, `http://127.0.0.1:${second.httpPort}`] as const;
  // Both instances judge a run picked up after a crash by this clock.
  let clockAhead = 0;
  const clock = () => Date.now() + clockAhead;

  beforeAll(async () => {
    const ports = [await freePort(), await freePort()] as const;
    [restate, balancer] = await Promise.all([startRestateServer(), startTcpBalancer([...ports])]);
    const env = {
      STORE_URL: `redis://127.0.0.1:6379?namespace=test-${randomUUID()}`,
      RUN_ENGINE: 'restate',
      RESTATE_INGRESS_URL: restate.ingressUrl,
      RESTATE_ADMIN_URL: restate.adminUrl,
      RESTATE_SERVICE_URL: balancer.url,
    };
    // Each thread's idle timer (a delayed call on its object) fires IDLE_MS after its last run.
    const idleSweep = { idleMs: IDLE_MS, intervalMs: IDLE_MS };
    h = await startHarness({
      env,
      idleSweep,
      overrides: { restateListen: { port: ports[0], host: '127.0.0.1' }, recoveryClock: clock },
    });
    const parsed = parseConfig(h.env);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => {
      secondLogs += chunk.toString('utf8');
    });
    second = await startBot(parsed.config, {
      logDestination: logs,
      slackClientOptions: { retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 } },
      listen: { port: 0, host: '127.0.0.1' },
      localSandboxRoot: join(h.dir, 'sandboxes'),
      slackPostIntervalMs: 20,
      github: { throttle: false, retries: 0 },
      restateListen: { port: ports[1], host: '127.0.0.1' },
      idleSweep,
      recoveryClock: clock,
    });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    const { response } = await h.command('link acme/widgets', { channel, expectResponse: true });
    expect(response?.text).toContain('linked *acme/widgets*');
  }, 90_000);
  afterAll(async () => {
    await second?.stop();
    await h?.close();
    await balancer?.close();
    await restate?.stop();
  }, 60_000);

  /** The instance whose Restate endpoint is running the thread's run, and the other one. */
  const runner = async (threadTs: string): Promise<{ running: RunningBot; other: RunningBot; otherUrl: string }> => {
    await expect
      .poll(() => h.bot.coordinator.isRunning(channel, threadTs) || second.coordinator.isRunning(channel, threadTs), {
        timeout: 20_000,
        interval: 20,
      })
      .toBe(true);
    return h.bot.coordinator.isRunning(channel, threadTs)
      ? { running: h.bot, other: second, otherUrl: urls()[1] }
      : { running: second, other: h.bot, otherUrl: urls()[0] };
  };

  /** The thread's terminal messages (the harness's TERMINAL starts). */
  const endsOf = (threadTs: string) =>
    h
      .thread(threadTs, channel)
      .filter((m) =>
        /^(:white_check_mark: (Opened|Updated) pull request|:speech_balloon: No changes needed|:octagonal_sign: Stopped)/.test(
          m.text,
        ),
      );

  it('twin events split across the two instances start one run, which opens one PR', async () => {
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'a.txt', content: 'a\n' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add a.txt', body: 'Adds a.' } }]),
      text('Added a.txt.'),
    ]);
    const ts = nextTs();
    const fields = { channel, user: DEFAULT_IDS.userId, ts, text: `<@${DEFAULT_IDS.botUserId}> add a.txt budget=$3` };
    // Slack's app_mention and message twins of one message, each to another instance.
    await Promise.all([
      sendEvent(urls()[0], SIGNING_SECRET, mentionEvent(fields)),
      sendEvent(urls()[1], SIGNING_SECRET, messageEvent(fields)),
    ]);
    expect(await h.waitForEnd(ts, 1, channel, 45_000)).toContain('Opened pull request');
    h.openai.assertDone();
    expect(h.github.pulls('acme', 'widgets')).toHaveLength(1);
    expect(h.openai.requests.filter((r) => r.inputText.includes('add a.txt'))).toHaveLength(1);
    // The mention's settings reach the run on whichever instance it ran.
    expect(h.thread(ts, channel).map((m) => m.text)).toContainEqual(expect.stringContaining('of $3.00'));
    // Nothing more arrives: the one run is over and the thread is idle in the shared store.
    await expect.poll(async () => (await h.bot.threads.get(channel, ts))?.status, { timeout: 10_000 }).toBe('idle');
    expect(
      endsOf(ts),
      h
        .thread(ts, channel)
        .map((m) => m.text)
        .join('\n---\n'),
    ).toHaveLength(1);
  });

  it('follow-ups sent to alternating instances during a run reach the model once each, in order', async () => {
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'sleep 3; echo slept' } }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toContain('slept');
        const first = req.inputText.indexOf('first follow-up');
        const secondAt = req.inputText.indexOf('second follow-up');
        expect(first).toBeGreaterThanOrEqual(0);
        expect(secondAt).toBeGreaterThan(first);
        return text('Read both.');
      },
    ]);
    const before = h.openai.requests.length;
    const root = await h.mention('look around', { channel });
    await expect.poll(() => h.openai.requests[before]?.outcome, { timeout: 20_000, interval: 20 }).toBe('completed');
    for (const [index, words] of ['first follow-up', 'second follow-up'].entries()) {
      await sendEvent(
        urls()[index % 2] ?? '',
        SIGNING_SECRET,
        messageEvent({ channel, user: DEFAULT_IDS.userId, ts: nextTs(), thread_ts: root, text: words }),
      );
      // Slack acks first and the bot reads on: one at a time, as a person types them.
      await expect
        .poll(() => h.thread(root, channel).filter((m) => m.text.includes('at my next step')).length, {
          timeout: 10_000,
          interval: 20,
        })
        .toBe(index + 1);
    }
    expect(await h.waitForEnd(root, 1, channel, 45_000)).toContain('Read both');
    h.openai.assertDone();
    for (const words of ['first follow-up', 'second follow-up']) {
      expect(h.openai.requests.filter((r) => r.inputText.includes(words))).toHaveLength(1);
    }
  });

  /**
   * A finished thread made to look as an instance leaves it when it wrote the record (running, the message
   * queued) and died before sending the invocation.
   */
  const orphanedThread = async (task: string, message: string): Promise<string> => {
    h.openai.script([text('Looked.')]);
    const root = await h.mention(task, { channel });
    expect(await h.waitForEnd(root, 1, channel, 30_000)).toContain('Looked');
    // The run's invocation is over (it would take a queued message on its way out).
    await expect.poll(async () => (await h.bot.threads.get(channel, root))?.status, { timeout: 10_000 }).toBe('idle');
    await h.bot.threads.update(channel, root, (s) => ({
      ...s,
      status: 'running',
      queued: [{ user: DEFAULT_IDS.userId, text: message, ts: nextTs() }],
    }));
    return root;
  };

  it('a thread left running by an instance that died before reaching Restate is run by the next message', async () => {
    const root = await orphanedThread('look once', 'the message that never reached Restate');
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('the message that never reached Restate');
        expect(req.inputText).toContain('and the next one');
        return text('Read both at last.');
      },
    ]);
    await sendEvent(
      urls()[1],
      SIGNING_SECRET,
      messageEvent({ channel, user: DEFAULT_IDS.userId, ts: nextTs(), thread_ts: root, text: 'and the next one' }),
    );
    await expect
      .poll(() => h.thread(root, channel).some((m) => m.text.includes('Read both at last')), { timeout: 30_000 })
      .toBe(true);
    await expect.poll(async () => (await h.bot.threads.get(channel, root))?.status, { timeout: 10_000 }).toBe('idle');
    h.openai.assertDone();
  });

  it('a thread left running with no run is sent to Restate again when an instance starts', async () => {
    // Nobody writes in the thread again.
    const root = await orphanedThread('look once more', 'the orphaned message');
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('the orphaned message');
        return text('Picked up at start-up.');
      },
    ]);
    const parsed = parseConfig(h.env);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    // A restarted instance (its endpoint need not be behind the balancer: Restate runs the thread anywhere).
    const third = await startBot(parsed.config, {
      logDestination: new PassThrough().resume(),
      listen: { port: 0, host: '127.0.0.1' },
      localSandboxRoot: join(h.dir, 'sandboxes'),
      github: { throttle: false, retries: 0 },
      restateListen: { port: await freePort(), host: '127.0.0.1' },
    });
    try {
      await expect
        .poll(() => h.thread(root, channel).some((m) => m.text.includes('Picked up at start-up')), { timeout: 30_000 })
        .toBe(true);
      await expect.poll(async () => (await h.bot.threads.get(channel, root))?.status, { timeout: 10_000 }).toBe('idle');
      h.openai.assertDone();
    } finally {
      await third.stop();
    }
  });

  it('Stop pressed on the other instance cancels the run and kills its command', async () => {
    const marker = `sleep 60.${Math.floor(Math.random() * 1e6)}`;
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: marker, timeout_seconds: 120 } }])]);
    const root = await h.mention('run the slow thing', { channel });
    const { otherUrl } = await runner(root);
    await expect.poll(() => processesMatching(marker), { timeout: 20_000, interval: 50 }).not.toEqual([]);
    await sendBlockAction(otherUrl, SIGNING_SECRET, {
      user: 'U0STOPPER',
      channel,
      message_ts: root,
      thread_ts: root,
      action_id: 'ai_dev_stop',
      value: `${channel}:${root}`,
      response_url: h.slack.responseUrl(),
    });
    // Far below the command's 60 s: the cancellation reached the run and aborted the command.
    expect(await h.waitForEnd(root, 1, channel, 15_000)).toMatch(/Stopped by <@U0STOPPER>/);
    await expect.poll(() => processesMatching(marker), { timeout: 5_000 }).toEqual([]);
    await expect.poll(async () => (await h.bot.threads.get(channel, root))?.status, { timeout: 10_000 }).toBe('idle');
    h.openai.assertDone();
    expect(secondLogs).not.toContain('"level":60');
  });

  it('kill -9 of restate-server mid-run, restarted on the same data: the run finishes, finished steps not redone', async () => {
    const marker = `sleep 3.${Math.floor(Math.random() * 1e6)}`;
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: `${marker}; echo slept-through` } }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toContain('slept-through');
        return text('Done after the restart.');
      },
    ]);
    const before = h.openai.requests.length;
    const root = await h.mention('sleep through a restart', { channel });
    await expect.poll(() => processesMatching(marker), { timeout: 20_000, interval: 50 }).not.toEqual([]);
    await restate.kill9();
    await restate.restart();
    expect(await h.waitForEnd(root, 1, channel, 45_000)).toContain('Done after the restart');
    // The first model request was journaled before the crash: it is not sent again.
    expect(h.openai.requests.length - before).toBe(2);
    h.openai.assertDone();
  });

  it('a run picked up after RUN_MAX_MINUTES (a long outage) ends as interrupted with Retry, and Retry goes on', async () => {
    const marker = `sleep 20.${Math.floor(Math.random() * 1e6)}`;
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: marker } }])]);
    const before = h.openai.requests.length;
    const root = await h.mention('sleep through a long outage', { channel });
    await expect.poll(() => processesMatching(marker), { timeout: 20_000, interval: 50 }).not.toEqual([]);
    await restate.kill9();
    // Back after longer than RUN_MAX_MINUTES: the run is not resumed by itself.
    clockAhead = 2 * 3600_000;
    try {
      await restate.restart();
      const interrupted = await h.slack.waitFor(
        (c) =>
          c.method === 'chat.postMessage' && c.args.thread_ts === root && /was interrupted/.test(String(c.args.text)),
        45_000,
      );
      expect(JSON.stringify(interrupted.args.blocks)).toContain('ai_dev_retry');
      await expect
        .poll(async () => (await h.bot.threads.get(channel, root))?.status, { timeout: 10_000 })
        .toBe('interrupted');
    } finally {
      clockAhead = 0;
    }
    // Nothing was asked of the model after the pick-up, and nothing said it went on.
    expect(h.openai.requests.length - before).toBe(1);
    expect(h.thread(root, channel).map((m) => m.text)).not.toContain(
      expect.stringContaining('another one picked it up'),
    );
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('Continue where you stopped');
        return text('Went on after Retry.');
      },
    ]);
    await h.click('ai_dev_retry', root, { channel });
    await expect
      .poll(() => h.thread(root, channel).some((m) => m.text.includes('Went on after Retry')), { timeout: 30_000 })
      .toBe(true);
    h.openai.assertDone();
  });

  it('the idle timer releases the thread’s sandbox, and survives a restart of restate-server', async () => {
    const quiet = `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;
    await h.command('link acme/widgets', { channel: quiet, expectResponse: true });
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: 'echo hi' } }]), text('Said hi.')]);
    const root = await h.mention('say hi', { channel: quiet });
    expect(await h.waitForEnd(root, 1, quiet, 30_000)).toContain('Said hi');
    const list = async () => (await h.command('list', { channel: quiet, expectResponse: true })).response?.text ?? '';
    expect(await list()).toContain('Live sandboxes:');
    // The timer is kept by Restate, not by an instance: a restart of the server does not lose it.
    await restate.kill9();
    await restate.restart();
    await expect.poll(list, { timeout: 30_000, interval: 500 }).not.toContain('Live sandboxes:');
    h.openai.assertDone();
  });

  it('/readyz includes Restate', async () => {
    const ready = await fetch(`${urls()[1]}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('restate');
  });
});

describe('RUN_ENGINE=restate without a reachable Restate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses to start, naming the URL it tried', async () => {
    const port = await freePort();
    const parsed = parseConfig({
      ...h.env,
      RUN_ENGINE: 'restate',
      RESTATE_INGRESS_URL: `http://127.0.0.1:${port}`,
      RESTATE_ADMIN_URL: `http://127.0.0.1:${port}`,
    });
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    await expect(
      startBot(parsed.config, {
        logDestination: new PassThrough().resume(),
        listen: { port: 0, host: '127.0.0.1' },
        restateListen: { port: 0, host: '127.0.0.1' },
      }),
    ).rejects.toThrow(`cannot reach Restate’s admin API at http://127.0.0.1:${port}`);
  });

  it('asks for both URLs when RUN_ENGINE=restate', () => {
    const parsed = parseConfig({ ...h.env, RUN_ENGINE: 'restate' });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.join('\n')).toMatch(/RESTATE_INGRESS_URL is missing/);
    expect(parsed.problems.join('\n')).toMatch(/RESTATE_ADMIN_URL is missing/);
  });
});

async function processesMatching(pattern: string): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', pattern], (_error, stdout) => {
      resolve(stdout.split('\n').filter(Boolean));
    });
  });
}
