import { describe, expect, it } from 'vitest';
import { captureLogger } from '../helpers/logger.js';

// The flows never log a secret, so they cannot see log redaction switched off; this does.
describe('logger redaction', () => {
  const apiKey = 'sk-proj-known-secret-value-0123456789';
  const shaped = 'ghp_0123456789abcdefghij0123456789ABCDEF';

  it('redacts a known secret and a token shape in fields, nested errors and the message', () => {
    const log = captureLogger([apiKey]);
    const cause = new Error(`upstream said: Incorrect API key provided: ${apiKey}`);
    log.logger.error(
      { authorization: `Bearer ${apiKey}`, nested: { token: shaped }, err: new Error('request failed', { cause }) },
      `could not call OpenAI with ${apiKey} (clone token ${shaped})`,
    );
    const text = log.text();
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain(shaped);
    const [line] = log.lines();
    expect(line?.msg).toBe('could not call OpenAI with [redacted] (clone token [redacted])');
    expect(line?.authorization).toBe('Bearer [redacted]');
    expect(line?.nested).toEqual({ token: '[redacted]' });
    expect(JSON.stringify(line?.err)).toContain('Incorrect API key provided: [redacted]');
  });

  it('redacts in child loggers, whose bindings may carry a secret', () => {
    const log = captureLogger([apiKey]);
    log.logger.child({ key: apiKey }).info('child line');
    expect(log.text()).not.toContain(apiKey);
    expect(log.lines()[0]).toMatchObject({ key: '[redacted]', msg: 'child line' });
  });
});
