import { describe, expect, it } from 'vitest';
import { parseCliConfig, parseConfig, secretValues } from '../../src/config/config.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1-abc',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  OPENAI_API_KEY: 'sk-test-key-000000000000',
  GITHUB_TOKEN: 'ghp_testtoken000000000000',
  E2B_API_KEY: 'e2b_key_0000000000000000',
};

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const result = parseConfig(base);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { config } = result;
    expect(config.slack.socketMode).toBe(false);
    expect(config.port).toBe(3000);
    expect(config.openai.model).toBe('gpt-6.2-sol');
    expect(config.openai.reasoningEffort).toBe('medium');
    expect(config.github.apiUrl).toBe('https://api.github.com');
    expect(config.github.serverUrl).toBe('https://github.com');
    expect(config.sandbox).toMatchObject({ provider: 'e2b', template: 'base' });
    expect(config.storeUrl).toBe('sqlite://data/ai-dev.sqlite');
    expect(config.limits).toEqual({
      maxTurns: 80,
      maxTokens: 4_000_000,
      maxMinutes: 45,
      maxConcurrentRuns: 10,
      commandTimeoutSeconds: 900,
      outputMaxChars: 16_000,
      sandboxIdleMinutes: 30,
      sandboxIdleAction: 'pause',
      ciFixAttempts: 2,
      compactAtInputTokens: 200_000,
    });
    expect(config.logLevel).toBe('info');
    expect(config.mirrorDir).toBe('data/mirrors');
    expect(config.network.mode).toBe('registries');
    expect(config.network.allowHosts).toContain('registry.npmjs.org');
    expect(config.network.allowHosts).toContain('github.com');
    expect(config.sandbox).toMatchObject({ maxLifetimeMinutes: 60 });
    expect(config.access).toEqual({ linkUsers: [], runUsers: [], repoPatterns: [], externalUsers: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('uses Socket Mode when an app token is set, and then needs no signing secret', () => {
    const { SLACK_SIGNING_SECRET: _, ...rest } = base;
    const result = parseConfig({ ...rest, SLACK_APP_TOKEN: 'xapp-1-abc' });
    expect(result.ok && result.config.slack.socketMode).toBe(true);
  });

  it('names every missing variable at once', () => {
    const result = parseConfig({});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'OPENAI_API_KEY', 'GITHUB_TOKEN', 'E2B_API_KEY']) {
      expect(text).toContain(name);
    }
  });

  it('explains invalid values', () => {
    const result = parseConfig({
      ...base,
      SLACK_BOT_TOKEN: 'xapp-wrong-kind',
      PORT: 'eighty',
      SANDBOX_PROVIDER: 'docker',
      STORE_URL: 'mysql://x',
      RUN_MAX_TURNS: '0',
      OPENAI_BASE_URL: 'not a url',
      ALLOW_REPOS: 'acme/*, not a pattern',
      ALLOW_RUN_USERS: 'U123,bob',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    expect(text).toMatch(/SLACK_BOT_TOKEN must be a bot token starting with xoxb-/);
    expect(text).toMatch(/PORT must be a whole number/);
    expect(text).toMatch(/SANDBOX_PROVIDER must be e2b or local/);
    expect(text).toMatch(/STORE_URL must be sqlite/);
    expect(text).toMatch(/RUN_MAX_TURNS must be at least 1/);
    expect(text).toMatch(/OPENAI_BASE_URL must be an http\(s\) URL/);
    expect(text).toMatch(/ALLOW_REPOS must be comma-separated repo patterns/);
    expect(text).toMatch(/ALLOW_RUN_USERS must be comma-separated Slack user ids/);
  });

  it('accepts the local provider without an E2B key, and GitHub App mode', () => {
    const { GITHUB_TOKEN: _, E2B_API_KEY: __, ...rest } = base;
    const pem = '-----BEGIN RSA PRIVATE KEY-----\\nabc\\n-----END RSA PRIVATE KEY-----';
    const result = parseConfig({
      ...rest,
      SANDBOX_PROVIDER: 'local',
      GITHUB_APP_ID: '1234',
      GITHUB_APP_PRIVATE_KEY: pem,
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.sandbox.provider).toBe('local');
    expect(result.config.github.auth).toEqual({
      mode: 'app',
      appId: '1234',
      privateKey: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----',
    });
  });

  it('refuses both GitHub modes at once and a half-configured App', () => {
    const both = parseConfig({ ...base, GITHUB_APP_ID: '1' });
    expect(both.ok).toBe(false);
    const { GITHUB_TOKEN: _, ...rest } = base;
    const half = parseConfig({ ...rest, GITHUB_APP_ID: '1' });
    expect(half.ok ? [] : half.problems.join('\n')).toMatch(/GITHUB_APP_PRIVATE_KEY is missing/);
  });

  it('parses allow-lists and trims trailing slashes from URLs', () => {
    const result = parseConfig({
      ...base,
      ALLOW_LINK_USERS: 'U1, U2',
      ALLOW_REPOS: 'Acme/*,acme/widgets',
      GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1/',
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.access.linkUsers).toEqual(['U1', 'U2']);
    expect(result.config.access.repoPatterns).toEqual(['acme/*', 'acme/widgets']);
    expect(result.config.github.apiUrl).toBe('https://ghe.example.com/api/v3');
    expect(result.config.openai.baseUrl).toBe('http://127.0.0.1:9/v1');
  });

  it('lists every secret for redaction', () => {
    const result = parseConfig(base);
    if (!result.ok) throw new Error('config should parse');
    expect(secretValues(result.config).sort()).toEqual(
      [
        base.SLACK_BOT_TOKEN,
        base.SLACK_SIGNING_SECRET,
        base.OPENAI_API_KEY,
        base.GITHUB_TOKEN,
        base.E2B_API_KEY,
      ].sort(),
    );
  });
});

describe('parseCliConfig (the terminal: ai-dev run, ai-dev doctor)', () => {
  const { SLACK_BOT_TOKEN: _bot, SLACK_SIGNING_SECRET: _secret, ...withoutSlack } = base;

  it('needs no Slack variable, and then has no Slack configuration', () => {
    const result = parseCliConfig(withoutSlack);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.slack).toBeUndefined();
    expect(result.config.openai.model).toBe('gpt-6.2-sol');
    // The bot still refuses the same environment.
    expect(parseConfig(withoutSlack).ok).toBe(false);
  });

  it('ignores stray Slack variables without a bot token, and checks them all when it is set', () => {
    expect(parseCliConfig({ ...withoutSlack, SLACK_APP_TOKEN: 'not-an-app-token', SLACK_API_URL: 'nope' }).ok).toBe(
      true,
    );
    const checked = parseCliConfig({ ...withoutSlack, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'not-an-app-token' });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.problems.join('\n')).toContain('SLACK_APP_TOKEN must be an app-level token');
    const socket = parseCliConfig({ ...withoutSlack, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' });
    expect(socket.ok && socket.config.slack?.socketMode).toBe(true);
  });

  it('still names every other problem', () => {
    const result = parseCliConfig({});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    for (const name of ['OPENAI_API_KEY', 'GITHUB_TOKEN', 'E2B_API_KEY']) expect(text).toContain(name);
    expect(text).not.toContain('SLACK');
  });
});

describe('LOG_FORMAT', () => {
  it('is auto unless set to json or pretty', () => {
    const auto = parseConfig(base);
    expect(auto.ok && auto.config.logFormat).toBe('auto');
    const json = parseConfig({ ...base, LOG_FORMAT: 'json' });
    expect(json.ok && json.config.logFormat).toBe('json');
    const bad = parseConfig({ ...base, LOG_FORMAT: 'xml' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.join('\n')).toContain('LOG_FORMAT must be auto, json or pretty');
  });
});
