import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { cli } from '../../src/cli/main.js';
import { type FakeE2B, startFakeE2B } from '../fakes/e2b/index.js';
import {
  DEFAULT_FAKE_GITHUB_TOKEN,
  type FakeGitHub,
  type FakeGitHubOptions,
  startFakeGitHub,
} from '../fakes/github-server.js';
import { perTestCheck } from '../fakes/openai/test-checks.js';
import { type FakeOpenAI, startFakeOpenAI } from '../fakes/openai-server.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The loopback fakes and an environment for `ai-dev run` / `ai-dev doctor`, in-process. */
export interface CliBench {
  github: FakeGitHub;
  openai: FakeOpenAI;
  e2b: FakeE2B | undefined;
  slack: FakeSlack | undefined;
  dir: string;
  env: Record<string, string>;
  /** Runs `ai-dev <argv>` in-process with `env` (plus `extra`) and captures its output. */
  run(argv: string[], extra?: Record<string, string | undefined>): Promise<CliResult>;
  close(): Promise<void>;
}

export async function startCliBench(
  options: { sandbox?: 'local' | 'e2b'; slack?: boolean; github?: FakeGitHubOptions } = {},
): Promise<CliBench> {
  let fake: FakeOpenAI | undefined;
  const arm = perTestCheck(() => fake);
  const [github, openai, slack] = await Promise.all([
    startFakeGitHub(options.github),
    startFakeOpenAI({ onScript: () => arm() }),
    options.slack ? startFakeSlack() : Promise.resolve(undefined),
  ]);
  fake = openai;
  const dir = await mkdtemp(join(tmpdir(), 'ai-dev-cli-'));
  const e2b = options.sandbox === 'e2b' ? await startFakeE2B({ rootDir: join(dir, 'e2b') }) : undefined;
  const env: Record<string, string> = {
    OPENAI_API_KEY: openai.apiKey,
    OPENAI_BASE_URL: openai.url,
    GITHUB_TOKEN: DEFAULT_FAKE_GITHUB_TOKEN,
    GITHUB_API_URL: github.apiUrl,
    GITHUB_SERVER_URL: github.serverUrl,
    ...(e2b
      ? { SANDBOX_PROVIDER: 'e2b', E2B_API_KEY: e2b.apiKey, E2B_API_URL: e2b.apiUrl, E2B_SANDBOX_URL: e2b.sandboxUrl }
      : { SANDBOX_PROVIDER: 'local' }),
    ...(slack
      ? { SLACK_BOT_TOKEN: slack.ids.botToken, SLACK_APP_TOKEN: slack.ids.appToken, SLACK_API_URL: slack.apiUrl }
      : {}),
    STORE_URL: `sqlite://${join(dir, 'store', 'bot.sqlite')}`,
    MIRROR_DIR: join(dir, 'mirrors'),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  return {
    github,
    openai,
    e2b,
    slack,
    dir,
    env,
    async run(argv, extra = {}) {
      arm();
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const logs = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
      });
      stderr.on('data', (c: Buffer) => {
        err += c.toString('utf8');
      });
      logs.on('data', (c: Buffer) => {
        err += c.toString('utf8');
      });
      const merged = { ...env, ...extra };
      for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
      const code = await cli(argv, {
        env: merged,
        stdout,
        stderr,
        overrides: {
          logDestination: logs,
          localSandboxRoot: join(dir, 'sandboxes'),
          github: { throttle: false, retries: 0 },
        },
      });
      return { code, stdout: out, stderr: err };
    },
    async close() {
      await Promise.all([github.close(), openai.close(), e2b?.close(), slack?.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
