import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { botScopesOf, manifestBotScopes } from '../../src/checks/manifest.js';
import { formatCheck } from '../../src/cli/doctor.js';
import { LinkStore } from '../../src/store/link-store.js';
import { openStore } from '../../src/store/open-store.js';
import { DEFAULT_FAKE_GITHUB_TOKEN } from '../fakes/github-server.js';
import { type CliBench, startCliBench } from '../helpers/cli.js';

const CLASSIC = 'ghp_classic_token_0123456789';
const PUBLIC_ONLY = 'ghp_public_only_token_01234';

/** The FAIL and warn lines of a doctor run. */
const problems = (stdout: string) => stdout.split('\n').filter((l) => /^(FAIL|warn) /.test(l));

async function link(storeUrl: string, channel: string, repo: string): Promise<void> {
  const logger = pino({ level: 'silent' });
  const store = await openStore(storeUrl, logger);
  try {
    await new LinkStore(store, logger).add(channel, {
      repo,
      defaultBranch: 'main',
      private: false,
      linkedBy: 'U0USER',
      linkedAt: new Date().toISOString(),
    });
  } finally {
    await store.close();
  }
}

describe('ai-dev doctor: each credential checked live, each wrong one named', () => {
  let bench: CliBench;

  beforeAll(async () => {
    bench = await startCliBench({
      sandbox: 'e2b',
      slack: true,
      github: {
        tokens: {
          [DEFAULT_FAKE_GITHUB_TOKEN]: { login: 'dev', kind: 'user' },
          [CLASSIC]: { login: 'classic', kind: 'user', scopes: ['repo', 'read:org'] },
          [PUBLIC_ONLY]: { login: 'public', kind: 'user', scopes: ['public_repo'] },
        },
      },
    });
    await bench.github.addRepo({ owner: 'acme', name: 'widgets' });
    await bench.github.addRepo({ owner: 'acme', name: 'frozen', pushAllowed: false });
    await link(bench.env.STORE_URL ?? '', 'C0ONE', 'acme/widgets');
    await link(bench.env.STORE_URL ?? '', 'C0TWO', 'acme/widgets');
  });
  afterAll(async () => {
    await bench?.close();
  });

  it('passes with every credential right, one line per check', async () => {
    const result = await bench.run(['doctor']);
    console.info(result.stdout);
    expect(result.code, result.stdout).toBe(0);
    const out = result.stdout;
    for (const line of [
      /^ok {4}Slack bot token: @ai-dev in /m,
      /^ok {4}Slack bot scopes: 9 of manifest\.yml's scopes granted$/m,
      /^ok {4}Slack app token: Socket Mode can connect/m,
      /^skip {2}Slack signing secret: Socket Mode/m,
      /^ok {4}OpenAI API key: accepted by http/m,
      /^ok {4}OpenAI model: gpt-6\.2-sol is available to this key$/m,
      /^ok {4}GitHub token: @dev \(fine-grained token/m,
      /^ok {4}GitHub acme\/widgets: push access \(default branch main\)$/m,
      /^ok {4}E2B API key: accepted by http/m,
      /^ok {4}E2B template: base exists$/m,
      /^ok {4}Store: sqlite .*bot\.sqlite: 1 linked repo in 2 channels$/m,
      /^Every check passed\.$/m,
    ]) {
      expect(out).toMatch(line);
    }
    // One request per check, not a sandbox: the E2B fake started none.
    expect(bench.e2b?.sandboxes()).toEqual([]);
  });

  it.each([
    [
      'SLACK_BOT_TOKEN',
      { SLACK_BOT_TOKEN: 'xoxb-wrong-000' },
      /^FAIL {2}Slack bot token: Slack refused SLACK_BOT_TOKEN \(invalid_auth\) → fix: copy the Bot User OAuth Token/m,
    ],
    [
      'SLACK_APP_TOKEN',
      { SLACK_APP_TOKEN: 'xapp-wrong-000' },
      /^FAIL {2}Slack app token: Slack refused SLACK_APP_TOKEN \(invalid_auth\) → fix: generate an app-level token with the connections:write scope/m,
    ],
    ['SLACK_SIGNING_SECRET', { SLACK_APP_TOKEN: undefined, SLACK_SIGNING_SECRET: undefined }, undefined],
    [
      'OPENAI_API_KEY',
      { OPENAI_API_KEY: 'sk-wrong-0000' },
      /^FAIL {2}OpenAI API key: .* refused OPENAI_API_KEY \(401\)/m,
    ],
    [
      'OPENAI_MODEL',
      { OPENAI_MODEL: 'gpt-nonexistent' },
      /^FAIL {2}OpenAI model: gpt-nonexistent does not exist or this key has no access to it/m,
    ],
    [
      'GITHUB_TOKEN',
      { GITHUB_TOKEN: 'ghp_wrong_000000000000' },
      /^FAIL {2}GitHub token: GitHub refused GITHUB_TOKEN \(401/m,
    ],
    ['E2B_API_KEY', { E2B_API_KEY: 'e2b_wrong_0000000000' }, /^FAIL {2}E2B API key: E2B refused E2B_API_KEY/m],
    [
      'E2B_TEMPLATE',
      { E2B_TEMPLATE: 'no-such-template' },
      /^FAIL {2}E2B template: E2B has no template named no-such-template → fix: set E2B_TEMPLATE/m,
    ],
    [
      'STORE_URL',
      { STORE_URL: 'sqlite:///dev/null/cannot/ai-dev.sqlite' },
      /^FAIL {2}Store: could not open sqlite \/dev\/null\/cannot\/ai-dev\.sqlite .*→ fix: check STORE_URL/m,
    ],
  ] as const)('names %s when it is wrong, and only it', async (variable, env, line) => {
    const result = await bench.run(['doctor'], env);
    if (variable === 'SLACK_SIGNING_SECRET') {
      // Without an app token the bot is in HTTP mode, where the signing secret is required.
      expect(result.code).toBe(2);
      expect(result.stdout).toContain('SLACK_SIGNING_SECRET is missing');
      return;
    }
    expect(result.code, result.stdout).toBe(1);
    if (line) expect(result.stdout).toMatch(line);
    const failing = problems(result.stdout).filter((l) => l.startsWith('FAIL'));
    expect(failing, result.stdout).toHaveLength(1);
    expect(result.stdout).toContain(`check failed (look at ${variable})`);
  });

  it('RUN_ENGINE=restate: checks the Restate admin API and ingress, naming each URL', async () => {
    const result = await bench.run(['doctor'], {
      RUN_ENGINE: 'restate',
      RESTATE_ADMIN_URL: 'http://127.0.0.1:1',
      RESTATE_INGRESS_URL: 'http://127.0.0.1:1',
    });
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(
      /^FAIL {2}Restate admin API: cannot reach http:\/\/127\.0\.0\.1:1\/health .*RESTATE_ADMIN_URL/m,
    );
    expect(result.stdout).toMatch(/^FAIL {2}Restate ingress: cannot reach http:\/\/127\.0\.0\.1:1\/restate\/health/m);
  });

  it('HTTP mode: checks the signing secret is there instead of the app token', async () => {
    const result = await bench.run(['doctor'], { SLACK_APP_TOKEN: undefined, SLACK_SIGNING_SECRET: 'secret-0123' });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^skip {2}Slack app token: HTTP mode/m);
    expect(result.stdout).toMatch(/^ok {4}Slack signing secret: set/m);
  });

  it('warns about bot scopes missing from the token, against manifest.yml', async () => {
    const all = await manifestBotScopes();
    bench.slack?.setScopes(all.filter((s) => s !== 'users:read'));
    try {
      const result = await bench.run(['doctor']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^warn {2}Slack bot scopes: missing users:read → fix: add them under OAuth & Permissions/m,
      );
    } finally {
      bench.slack?.setScopes(all);
    }
  });

  it('checks push access for every linked repo', async () => {
    await link(bench.env.STORE_URL ?? '', 'C0TWO', 'acme/frozen');
    try {
      const result = await bench.run(['doctor']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /^FAIL {2}GitHub acme\/frozen: The bot cannot push to acme\/frozen → fix: The bot can read acme\/frozen but cannot push to it/m,
      );
      expect(result.stdout).toMatch(/^ok {4}GitHub acme\/widgets: push access/m);
    } finally {
      const logger = pino({ level: 'silent' });
      const store = await openStore(bench.env.STORE_URL ?? '', logger);
      await new LinkStore(store, logger).remove('C0TWO', 'acme/frozen');
      await store.close();
    }
  });

  it('reads a classic token’s scopes from X-OAuth-Scopes', async () => {
    const classic = await bench.run(['doctor'], { GITHUB_TOKEN: CLASSIC });
    expect(classic.stdout).toMatch(
      /^ok {4}GitHub token: @classic \(classic token: repo, read:org; without the workflow scope/m,
    );
    const publicOnly = await bench.run(['doctor'], { GITHUB_TOKEN: PUBLIC_ONLY });
    expect(publicOnly.stdout).toMatch(/^warn {2}GitHub token: @public has public_repo only/m);
  });

  it('runs without any Slack variable (the terminal does not need them), skipping Slack', async () => {
    const result = await bench.run(['doctor'], { SLACK_BOT_TOKEN: undefined, SLACK_APP_TOKEN: undefined });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^skip {2}Slack: SLACK_BOT_TOKEN is not set/m);
  });

  it('reports a configuration that does not parse without checking anything live', async () => {
    const result = await bench.run(['doctor'], { OPENAI_API_KEY: undefined, PORT: 'x' });
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^FAIL {2}Configuration: OPENAI_API_KEY is missing/m);
    expect(result.stdout).toMatch(/^FAIL {2}Configuration: PORT must be a whole number/m);
  });
});

describe('ai-dev doctor in GitHub App mode', () => {
  const APP_ID = 4242;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  let bench: CliBench;

  beforeAll(async () => {
    bench = await startCliBench({
      github: {
        app: {
          id: APP_ID,
          slug: 'ai-dev',
          publicKey,
          permissions: {
            contents: 'write',
            pull_requests: 'write',
            metadata: 'read',
            checks: 'read',
            statuses: 'read',
            actions: 'read',
          },
        },
      },
    });
    await bench.github.addRepo({ owner: 'acme', name: 'widgets' });
    await link(bench.env.STORE_URL ?? '', 'C0ONE', 'acme/widgets');
  });
  afterAll(async () => {
    await bench?.close();
  });

  const appEnv = (extra: Record<string, string> = {}) => ({
    GITHUB_TOKEN: undefined,
    GITHUB_APP_ID: String(APP_ID),
    GITHUB_APP_PRIVATE_KEY: pem.replaceAll('\n', '\\n'),
    ...extra,
  });

  it('checks the App (GET /app with its JWT) and push access through an installation token', async () => {
    const result = await bench.run(['doctor'], appEnv());
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^ok {4}GitHub App: ai-dev \(App 4242\), 1 installation, no workflows permission$/m);
    expect(result.stdout).toMatch(/^ok {4}GitHub acme\/widgets: push access/m);
  });

  it('names GITHUB_APP_ID when the key does not belong to it', async () => {
    const result = await bench.run(['doctor'], appEnv({ GITHUB_APP_ID: '999' }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}GitHub App: GitHub refused the App’s token \(401\)/m);
    expect(result.stdout).toContain('(look at GITHUB_APP_ID)');
    expect(result.stdout).toMatch(/^skip {2}GitHub acme\/widgets: not checked/m);
  });
});

describe('doctor pieces', () => {
  it('reads the bot scopes of manifest.yml as the YAML parser does', async () => {
    const { parse } = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(join(import.meta.dirname, '../../manifest.yml'), 'utf8');
    const parsed = parse(text) as { oauth_config: { scopes: { bot: string[] } } };
    expect(await manifestBotScopes()).toEqual(parsed.oauth_config.scopes.bot);
    expect(
      botScopesOf('oauth_config:\n  scopes:\n    user:\n      - a\n    bot:\n    - "b"\n    - c # why\nnext: 1\n'),
    ).toEqual(['b', 'c']);
  });

  it('formats one line per check, with the fix', () => {
    expect(formatCheck({ name: 'X', status: 'fail', detail: 'broken', fix: 'mend it', variable: 'X_VAR' })).toBe(
      'FAIL  X: broken → fix: mend it',
    );
    expect(formatCheck({ name: 'Y', status: 'ok', detail: 'fine' })).toBe('ok    Y: fine');
  });
});
