import { describe, expect, it } from 'vitest';
import { parseConfig, secretValues } from '../../src/config/config.js';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-1-abc',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  OPENAI_API_KEY: 'sk-test-key-000000000000',
  GITHUB_TOKEN: 'ghp_testtoken000000000000',
  E2B_API_KEY: 'e2b_key_0000000000000000',
};

describe('the CI loop’s variables', () => {
  it('default to two fix attempts and no webhook secret (checks are then polled)', () => {
    const result = parseConfig(base);
    expect(result.ok && result.config.limits.ciFixAttempts).toBe(2);
    expect(result.ok && result.config.github.webhookSecret).toBeUndefined();
  });

  it('take CI_FIX_ATTEMPTS from 0 (report only) to 10, and a webhook secret that is redacted', () => {
    const secret = 'f'.repeat(40);
    const result = parseConfig({ ...base, CI_FIX_ATTEMPTS: '0', GITHUB_WEBHOOK_SECRET: secret });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.limits.ciFixAttempts).toBe(0);
    expect(result.config.github.webhookSecret).toBe(secret);
    expect(secretValues(result.config)).toContain(secret);
  });

  it('explain a bad attempt count and a short secret', () => {
    const result = parseConfig({ ...base, CI_FIX_ATTEMPTS: '11', GITHUB_WEBHOOK_SECRET: 'short' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.problems.join('\n');
    expect(text).toMatch(/CI_FIX_ATTEMPTS must be at most 10/);
    expect(text).toMatch(/GITHUB_WEBHOOK_SECRET must be at least 16 characters/);
    expect(parseConfig({ ...base, CI_FIX_ATTEMPTS: 'two' }).ok).toBe(false);
  });
});
