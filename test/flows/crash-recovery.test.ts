import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { type FakeOpenAI, startFakeOpenAI, text, toolCalls } from '../fakes/openai-server.js';
import {
  DEFAULT_IDS,
  type FakeSlack,
  mentionEvent,
  nextTs,
  sendCommand,
  sendEvent,
  startFakeSlack,
} from '../fakes/slack-server.js';
import { freePort } from '../helpers/free-port.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SECRET = 'crash-signing-secret-0123456789';

/** The long command is running in the E2B fake (so the kill lands mid-run). */
async function waitForSleep(e2b: FakeE2B | undefined, marker = '.started'): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    // The command leaves a marker in the repo when it starts.
    for (const s of e2b?.sandboxes() ?? []) {
      const started = await access(join(s.homeDir, 'widgets', marker)).then(
        () => true,
        () => false,
      );
      if (started) return s.sandboxId;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the command never started');
}

/** After the interruption: the owed output reaches the model, which then publishes. */
function resumeScript(openai: FakeOpenAI) {
  openai.script([
    (req) => {
      // The call interrupted by the restart is answered before anything else; nothing twice.
      expect(req.functionCallOutputs.length).toBeGreaterThanOrEqual(1);
      expect(req.functionCallOutputs.map((o) => String(o.output)).join('\n')).toMatch(/stopped|interrupted/i);
      return toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add work.txt', body: 'After a restart.' } }]);
    },
    text('Published after the restart.'),
  ]);
}

describe('a graceful restart in the middle of a run (E2B sandbox)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sandbox: 'e2b' });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('picks the run up again on start: same conversation, same sandbox, one PR', async () => {
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'work.txt', content: 'work\n' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'touch .started; sleep 30' } }]),
    ]);
    const root = await h.mention('do the work');
    const sandbox = await waitForSleep(h.e2b);
    const conversation = h.openai.requests[0]?.conversationId;
    await h.restart();
    // After the shutdown every sandbox still running on E2B has its record in the store.
    const list = await h.command('list', { expectResponse: true });
    for (const live of h.e2b?.sandboxes().filter((s) => s.state === 'running') ?? []) {
      expect(list.response?.text).toContain(live.sandboxId);
    }
    resumeScript(h.openai);
    const end = await h.waitForEnd(root, 1, undefined, 15_000);
    expect(end).toContain('Opened pull request');
    const thread = h
      .thread(root)
      .map((m) => m.text)
      .join('\n');
    expect(thread).toContain('The bot is restarting');
    expect(thread).toContain('I was restarted in the middle of this run');
    expect(h.openai.requests.at(-1)?.conversationId).toBe(conversation);
    expect((await h.bot.threads.get('C0TEST', root))?.repos[0]?.sandboxId).toBe(sandbox);
    expect(h.github.pulls('acme', 'widgets')).toHaveLength(1);
    expect(h.openai.duplicateCallOutputs(conversation ?? '')).toEqual([]);
    h.openai.assertDone();
  });

  it('a run too old to pick up by itself gets an interrupted message with Retry, and Retry resumes it', async () => {
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: 'touch .started-old; sleep 30' } }])]);
    const root = await h.mention('a long one');
    await waitForSleep(h.e2b, '.started-old');
    // Back two hours later: older than RUN_MAX_MINUTES.
    await h.restart({}, { recoveryClock: () => Date.now() + 2 * 3600_000 });
    const interrupted = await h.slack.waitFor(
      (c) =>
        c.method === 'chat.postMessage' && c.args.thread_ts === root && /was interrupted/.test(String(c.args.text)),
      10_000,
    );
    expect(JSON.stringify(interrupted.args.blocks)).toContain('ai_dev_retry');
    expect((await h.bot.threads.get('C0TEST', root))?.status).toBe('interrupted');
    expect(h.openai.remainingSteps()).toBe(0);

    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('Continue where you stopped');
        return text('Picked up after Retry.');
      },
    ]);
    await h.click('ai_dev_retry', root);
    expect(await h.waitForEnd(root)).toContain('Picked up after Retry');
    h.openai.assertDone();
  });
});

describe.each([
  ['SQLite', (dir: string) => `sqlite://${join(dir, 'bot.sqlite')}`],
  ['Redis', () => `redis://127.0.0.1:6379?namespace=test-${randomUUID()}`],
])('kill -9 in the middle of a run, then a restart (%s store)', (_name, storeUrl) => {
  let slack: FakeSlack;
  let github: FakeGitHub;
  let openai: FakeOpenAI;
  let e2b: FakeE2B;
  let dir: string;
  let env: Record<string, string>;
  let port: number;
  let child: ChildProcess | undefined;
  const channel = `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;

  const start = async () => {
    const log = await open(join(dir, 'bot.log'), 'a');
    const proc = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', log.fd, log.fd],
    });
    proc.once('exit', () => void log.close());
    child = proc;
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      if (
        await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return proc;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `the bot did not start (exit ${proc.exitCode}, signal ${proc.signalCode}):\n${(await readFile(join(dir, 'bot.log'), 'utf8').catch(() => '')).slice(-3000)}`,
    );
  };

  beforeAll(async () => {
    [slack, github, openai] = await Promise.all([startFakeSlack(), startFakeGitHub(), startFakeOpenAI()]);
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-crash-'));
    e2b = await startFakeE2B({ rootDir: join(dir, 'e2b') });
    await github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    port = await freePort();
    env = {
      SLACK_BOT_TOKEN: slack.ids.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: openai.url,
      GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      SANDBOX_PROVIDER: 'e2b',
      E2B_API_KEY: e2b.apiKey,
      E2B_API_URL: e2b.apiUrl,
      E2B_SANDBOX_URL: e2b.sandboxUrl,
      STORE_URL: storeUrl(dir),
      MIRROR_DIR: join(dir, 'mirrors'),
      PORT: String(port),
      LOG_LEVEL: 'info',
    };
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await Promise.all([slack?.close(), github?.close(), openai?.close(), e2b?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('resumes the run after the restart: one PR, nothing lost, never silent', { timeout: 90_000 }, async () => {
    const first = await start();
    const link = await sendCommand(`http://127.0.0.1:${port}`, SECRET, {
      command: '/ai-dev',
      text: 'link acme/widgets',
      user_id: DEFAULT_IDS.userId,
      channel_id: channel,
      response_url: slack.responseUrl('crash-link'),
    });
    expect(link.status).toBe(200);
    await slack.waitForResponse((r) => r.id === 'crash-link', 10_000);

    openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'work.txt', content: 'work\n' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'touch .started; sleep 60' } }]),
    ]);
    const root = nextTs();
    await sendEvent(
      `http://127.0.0.1:${port}`,
      SECRET,
      mentionEvent({ channel, ts: root, text: `<@${DEFAULT_IDS.botUserId}> do the work` }),
    );
    await waitForSleep(e2b);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    resumeScript(openai);
    await start();
    const end = await slack
      .waitFor(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.args.thread_ts === root &&
          /:white_check_mark: Opened pull request/.test(String(c.args.text)),
        60_000,
      )
      .catch(async (error: unknown) => {
        const logs = await readFile(join(dir, 'bot.log'), 'utf8').catch(() => '');
        throw new Error(`${String(error)}\nbot log (tail):\n${logs.slice(-6000)}`);
      });
    expect(String(end.args.text)).toContain('Published after the restart');
    const thread = slack.threadMessages(channel, root).map((m) => m.text ?? '');
    expect(thread.join('\n')).toContain('I was restarted in the middle of this run');
    expect(thread.at(-1)).toContain('Opened pull request');
    expect(github.pulls('acme', 'widgets')).toHaveLength(1);
    const branch = github.pulls('acme', 'widgets')[0]?.headRef ?? '';
    expect(await github.readFile('acme', 'widgets', branch, 'work.txt')).toBe('work\n');
    expect(openai.duplicateCallOutputs(openai.requests[0]?.conversationId ?? '')).toEqual([]);
    openai.assertDone();
  });
});
