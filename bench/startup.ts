/**
 * Figure 5: how fast the bot starts, as an operator runs it: `npm start` (the build up to date) and
 * `node dist/main.js` to a configuration error; to ready (`GET /readyz` 200) against the loopback
 * fakes, in HTTP mode and in Socket Mode; and to its exit when Slack cannot be reached (connection
 * refused, or a host that never answers).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FAKE_GITHUB_TOKEN, startFakeGitHub } from '../test/fakes/github-server.js';
import { startFakeSlack } from '../test/fakes/slack-server.js';
import { freePort } from '../test/helpers/free-port.js';
import { ms, print, type Summary, summarize, table } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface StartupResult {
  npmConfigError: Summary;
  nodeConfigError: Summary;
  readyHttp: Summary;
  readySocket: Summary;
  refusedExit: Summary;
  blackHoleExit: Summary;
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<{ code: number | null; ms: number; stderr: string }>;
}

function launch(command: string, args: string[], env: Record<string, string>, cwd: string): Spawned {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; ms: number; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, ms: performance.now() - started, stderr })),
  );
  return { child, exited };
}

/** Time from spawn to exit, `n` times. */
async function timeToExit(n: number, make: () => Spawned, expect: RegExp): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const { exited } = make();
    const result = await exited;
    if (!expect.test(result.stderr)) throw new Error(`unexpected exit (code ${result.code}): ${result.stderr}`);
    times.push(result.ms);
  }
  return times;
}

/** Time from spawn to the first `GET /readyz` 200 (polled every 10 ms), `n` times. */
async function timeToReady(n: number, env: () => Promise<Record<string, string>>, cwd: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const vars = await env();
    const started = performance.now();
    const { child, exited } = launch(process.execPath, [join(ROOT, 'dist', 'main.js')], vars, cwd);
    let ready = false;
    while (!ready && performance.now() - started < 30_000 && child.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${vars.PORT}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await sleep(10);
    }
    const took = performance.now() - started;
    child.kill('SIGTERM');
    const result = await exited;
    if (!ready) throw new Error(`the bot never got ready: ${result.stderr}`);
    times.push(took);
  }
  return times;
}

/** A TCP server that accepts connections and never answers (a black-holed Slack). */
async function blackHole(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

export async function benchStartup(runs = 5): Promise<StartupResult> {
  // The figures are about starting, not building: bring dist/ up to date first.
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('the build failed');
  const dir = await mkdtemp(join(tmpdir(), 'ai-dev-bench-start-'));
  const [slack, github] = await Promise.all([startFakeSlack(), startFakeGitHub()]);
  const hole = await blackHole();
  try {
    const configError = /cannot start; fix these environment variables/;
    const npmConfigError = await timeToExit(runs, () => launch('npm', ['start', '--silent'], {}, ROOT), configError);
    const nodeConfigError = await timeToExit(
      runs,
      () => launch(process.execPath, [join(ROOT, 'dist', 'main.js')], {}, dir),
      configError,
    );
    const base = {
      SLACK_BOT_TOKEN: slack.ids.botToken,
      SLACK_API_URL: slack.apiUrl,
      OPENAI_API_KEY: 'sk-test-0000000000000000',
      GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_SERVER_URL: github.serverUrl,
      SANDBOX_PROVIDER: 'local',
      STORE_URL: `sqlite://${join(dir, 'bot.sqlite')}`,
      MIRROR_DIR: join(dir, 'mirrors'),
      LOG_LEVEL: 'warn',
    };
    const readyHttp = await timeToReady(
      runs,
      async () => ({ ...base, SLACK_SIGNING_SECRET: 'bench-secret', PORT: String(await freePort()) }),
      dir,
    );
    const readySocket = await timeToReady(
      runs,
      async () => ({ ...base, SLACK_APP_TOKEN: slack.ids.appToken, PORT: String(await freePort()) }),
      dir,
    );
    const unreachable = /could not reach Slack at/;
    const refusedExit = await timeToExit(
      3,
      () =>
        launch(
          process.execPath,
          [join(ROOT, 'dist', 'main.js')],
          { ...base, SLACK_SIGNING_SECRET: 'x', SLACK_API_URL: 'http://127.0.0.1:1/api/', PORT: '39999' },
          dir,
        ),
      unreachable,
    );
    const blackHoleExit = await timeToExit(
      1,
      () =>
        launch(
          process.execPath,
          [join(ROOT, 'dist', 'main.js')],
          { ...base, SLACK_SIGNING_SECRET: 'x', SLACK_API_URL: `http://127.0.0.1:${hole.port}/api/`, PORT: '39998' },
          dir,
        ),
      unreachable,
    );
    return {
      npmConfigError: summarize(npmConfigError),
      nodeConfigError: summarize(nodeConfigError),
      readyHttp: summarize(readyHttp),
      readySocket: summarize(readySocket),
      refusedExit: summarize(refusedExit),
      blackHoleExit: summarize(blackHoleExit),
    };
  } finally {
    hole.server.close();
    await Promise.all([slack.close(), github.close()]);
    await rm(dir, { recursive: true, force: true });
  }
}

export function printStartup(r: StartupResult): void {
  const row = (label: string, s: Summary) => [label, String(s.n), ms(s.p50), ms(s.max)];
  print(
    table([
      ['measure (ms, spawn → …)', 'n', 'p50', 'max'],
      row('npm start → configuration error (build up to date)', r.npmConfigError),
      row('node dist/main.js → configuration error', r.nodeConfigError),
      row('node dist/main.js → GET /readyz 200, HTTP mode', r.readyHttp),
      row('node dist/main.js → GET /readyz 200, Socket Mode', r.readySocket),
      row('Slack refuses connections → exit naming the URL', r.refusedExit),
      row('Slack never answers → exit naming the URL', r.blackHoleExit),
    ]),
  );
}
