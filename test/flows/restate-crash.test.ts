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
import { type RestateServer, startRestateServer } from '../helpers/restate-server.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const SECRET = 'restate-crash-secret-0123456789';

interface Instance {
  name: string;
  port: number;
  servicePort: number;
  log: string;
  child?: ChildProcess;
}

// RUN_ENGINE=restate with two real bot processes behind a TCP balancer: `kill -9` of the one running a
// long command, and the run finishes on the other from its journal.
describe('kill -9 of the instance running a run (Restate)', () => {
  let slack: FakeSlack;
  let github: FakeGitHub;
  let openai: FakeOpenAI;
  let e2b: FakeE2B;
  let restate: RestateServer;
  let balancer: TcpBalancer;
  let dir: string;
  let env: Record<string, string>;
  const instances: Instance[] = [];
  const channel = `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;

  const start = async (instance: Instance): Promise<void> => {
    const log = await open(instance.log, 'a');
    const proc = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...env,
        PORT: String(instance.port),
        RESTATE_SERVICE_PORT: String(instance.servicePort),
      },
      stdio: ['ignore', log.fd, log.fd],
    });
    proc.once('exit', () => void log.close());
    instance.child = proc;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const up = await fetch(`http://127.0.0.1:${instance.port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) return;
      if (proc.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${instance.name} did not start:\n${(await readFile(instance.log, 'utf8')).slice(-3000)}`);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ai-dev-restate-crash-'));
    [slack, github, openai, e2b, restate] = await Promise.all([
      startFakeSlack(),
      startFakeGitHub(),
      startFakeOpenAI(),
      startFakeE2B({ rootDir: join(dir, 'e2b') }),
      startRestateServer(),
    ]);
    for (const name of ['a', 'b']) {
      instances.push({
        name,
        port: await freePort(),
        servicePort: await freePort(),
        log: join(dir, `bot-${name}.log`),
      });
    }
    balancer = await startTcpBalancer(instances.map((i) => i.servicePort));
    await github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
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
      STORE_URL: `redis://127.0.0.1:6379?namespace=test-${randomUUID()}`,
      MIRROR_DIR: join(dir, 'mirrors'),
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      RUN_ENGINE: 'restate',
      RESTATE_INGRESS_URL: restate.ingressUrl,
      RESTATE_ADMIN_URL: restate.adminUrl,
      RESTATE_SERVICE_URL: balancer.url,
    };
    // One after the other: both register the same deployment (idempotent).
    for (const instance of instances) await start(instance);
  }, 150_000);
  afterAll(async () => {
    for (const instance of instances) instance.child?.kill('SIGKILL');
    await balancer?.close();
    await restate?.stop();
    await Promise.all([slack?.close(), github?.close(), openai?.close(), e2b?.close()]);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('finishes on the other instance: same conversation, same sandbox, one PR, the thread told', {
    timeout: 120_000,
  }, async () => {
    const [a] = instances;
    if (!a) throw new Error('no instances');
    const link = await sendCommand(`http://127.0.0.1:${a.port}`, SECRET, {
      command: '/ai-dev',
      text: 'link acme/widgets',
      user_id: DEFAULT_IDS.userId,
      channel_id: channel,
      response_url: slack.responseUrl('restate-link'),
    });
    expect(link.status).toBe(200);
    await slack.waitForResponse((r) => r.id === 'restate-link', 10_000);

    openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'work.txt', content: 'work\n' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'touch .started; sleep 4; echo slept' } }]),
      (req) => {
        // The command whose instance died ran to its end on the other one; its output is given once.
        expect(req.functionCallOutputs.map((o) => String(o.output)).join('\n')).toContain('slept');
        return toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add work.txt', body: 'After a crash.' } }]);
      },
      text('Published after the crash.'),
    ]);
    const root = nextTs();
    await sendEvent(
      `http://127.0.0.1:${a.port}`,
      SECRET,
      mentionEvent({ channel, ts: root, text: `<@${DEFAULT_IDS.botUserId}> do the work` }),
    );
    const sandboxId = await waitForStart(e2b);
    const running = await runningInstance(instances, root);
    running.child?.kill('SIGKILL');

    const end = await slack
      .waitFor(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.args.thread_ts === root &&
          /:white_check_mark: Opened pull request/.test(String(c.args.text)),
        60_000,
      )
      .catch(async (error: unknown) => {
        const logs = await Promise.all(instances.map((i) => readFile(i.log, 'utf8').catch(() => '')));
        throw new Error(`${String(error)}\nlogs (tail):\n${logs.map((l) => l.slice(-4000)).join('\n=====\n')}`);
      });
    expect(String(end.args.text)).toContain('Published after the crash');
    const thread = slack.threadMessages(channel, root).map((m) => m.text ?? '');
    expect(thread.join('\n')).toContain('another one picked it up where it stopped');
    // The file was written once, before the crash: its step was not run again. (Counted in the sandbox, not
    // in the thread: a line still in the dead instance's post queue is gone with it, and a replay posts nothing.)
    expect(e2b.fileWrites(sandboxId).filter((w) => w.path.endsWith('/work.txt'))).toHaveLength(1);
    expect(github.pulls('acme', 'widgets')).toHaveLength(1);
    const branch = github.pulls('acme', 'widgets')[0]?.headRef ?? '';
    expect(await github.readFile('acme', 'widgets', branch, 'work.txt')).toBe('work\n');
    const conversation = openai.requests[0]?.conversationId ?? '';
    expect(openai.requests.every((r) => r.conversationId === conversation)).toBe(true);
    expect(openai.duplicateCallOutputs(conversation)).toEqual([]);
    // Same sandbox: the run went on where the file was written.
    expect(e2b.sandboxes().map((s) => s.sandboxId)).toEqual([sandboxId]);
    openai.assertDone();
  });
});

/** The long command is running in the E2B fake (it leaves a marker when it starts). */
async function waitForStart(e2b: FakeE2B): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const s of e2b.sandboxes()) {
      const started = await access(join(s.homeDir, 'widgets', '.started')).then(
        () => true,
        () => false,
      );
      if (started) return s.sandboxId;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the command never started');
}

/** The instance whose log says it runs the thread. */
async function runningInstance(instances: Instance[], threadTs: string): Promise<Instance> {
  for (const instance of instances) {
    const log = await readFile(instance.log, 'utf8');
    if (log.split('\n').some((line) => line.includes('running the thread here') && line.includes(threadTs))) {
      return instance;
    }
  }
  throw new Error('no instance says it runs the thread');
}
