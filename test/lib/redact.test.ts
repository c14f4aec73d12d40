import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, redactDeep } from '../../src/lib/redact.js';

describe('createRedactor', () => {
  it('removes known secret values wherever they appear', () => {
    const redact = createRedactor(['my-signing-secret-1234', undefined, 'short']);
    expect(redact('x my-signing-secret-1234 y my-signing-secret-1234')).toBe(`x ${REDACTED} y ${REDACTED}`);
    expect(redact('a short word stays')).toBe('a short word stays');
  });

  it('removes common token shapes it was never told about', () => {
    const redact = createRedactor([]);
    const text = [
      'ghp_abcdefghijklmnopqrstuvwxyz0123',
      'github_pat_11ABCDEFG0123456789_abcdefghijklmnop',
      'xoxb-1234-5678-abcdefgh',
      'xapp-1-A012-3456-abcdef',
      'sk-proj-abcdefghijklmnop1234',
      'ghs_1234567890abcdefghijkl',
    ].join(' ');
    expect(redact(text)).toBe(Array(6).fill(REDACTED).join(' '));
  });

  it('redacts a PEM key in both real and escaped newlines', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----';
    const redact = createRedactor([pem]);
    expect(redact(`k=${pem}`)).toBe(`k=${REDACTED}`);
    expect(redact(`k=${pem.replaceAll('\n', '\\n')}`)).toBe(`k=${REDACTED}`);
  });

  it('walks nested values', () => {
    const redact = createRedactor(['secret-value-xyz']);
    expect(redactDeep({ a: ['secret-value-xyz', 1], b: { c: 'secret-value-xyz!' } }, redact)).toEqual({
      a: [REDACTED, 1],
      b: { c: `${REDACTED}!` },
    });
  });
});
