import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED, type Redactor, redactDeep } from '../../src/lib/redact.js';
import { captureLogger } from '../helpers/logger.js';

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

// Known values that match no token shape, so only the known-value path can catch them.
const TOKEN = 'plain-token-value-123';
const PASSWORD = 'Tr0ub4dor&3:horse?/battery=staple';

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

  it('walks nested values with encoded forms and token shapes too', () => {
    const redact = createRedactor([TOKEN]);
    const value = {
      header: `Basic ${base64(`x-access-token:${TOKEN}`)}`,
      list: [hex(TOKEN), null, 7, true, { deep: 'xoxb-1234-5678-abcdefgh' }],
      plain: 'nothing to hide',
    };
    expect(redactDeep(value, redact)).toEqual({
      header: `Basic ${REDACTED}`,
      list: [REDACTED, null, 7, true, { deep: REDACTED }],
      plain: 'nothing to hide',
    });
  });

  it('stays a plain function for callers that take a Redactor', () => {
    const redact: Redactor = createRedactor([TOKEN]);
    expect(typeof redact).toBe('function');
    expect(redact(`a ${TOKEN} b`)).toBe(`a ${REDACTED} b`);
    expect(createRedactor()('nothing')).toBe('nothing');
  });

  it('merges overlapping and touching matches into one marker', () => {
    const redact = createRedactor([TOKEN, 'another-secret-456']);
    expect(redact(`${TOKEN}another-secret-456 end`)).toBe(`${REDACTED} end`);
    expect(redact(`https://x-access-token:${TOKEN}@github.com`)).toBe(`https://x-access-token:${REDACTED}@github.com`);
  });

  it('prefers the longest known value when one starts with another', () => {
    const redact = createRedactor(['prefix-secret', 'prefix-secret-and-more']);
    expect(redact('[prefix-secret-and-more]')).toBe(`[${REDACTED}]`);
  });
});

describe('known values in encoded forms', () => {
  const redact = createRedactor([TOKEN, PASSWORD]);

  it('redacts the JSON-escaped form a log line holds', () => {
    const secret = 'quote"and\\backslash-1';
    const line = JSON.stringify({ msg: `value ${secret}` });
    expect(JSON.parse(createRedactor([secret])(line))).toEqual({ msg: `value ${REDACTED}` });
  });

  it('redacts the URL-encoded form, with upper and lower case escapes', () => {
    const encoded = encodeURIComponent(PASSWORD);
    expect(encoded).not.toBe(PASSWORD);
    expect(redact(`https://example.com/login?password=${encoded}&next=1`)).toBe(
      `https://example.com/login?password=${REDACTED}&next=1`,
    );
    expect(redact(`?p=${encoded.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}`)).toBe(`?p=${REDACTED}`);
  });

  it('redacts hex, lower and upper case', () => {
    expect(redact(`dump ${hex(TOKEN)} end`)).toBe(`dump ${REDACTED} end`);
    expect(redact(`dump ${hex(TOKEN).toUpperCase()} end`)).toBe(`dump ${REDACTED} end`);
  });

  it('redacts base64 of the value alone, with and without padding', () => {
    expect(redact(`echo ${base64(TOKEN)} | base64 -d`)).toBe(`echo ${REDACTED} | base64 -d`);
    expect(redact(`echo ${base64(TOKEN).replace(/=+$/, '')};`)).toBe(`echo ${REDACTED};`);
    expect(redact(`echo ${base64(`${TOKEN}\n`)}`)).toBe(`echo ${REDACTED}`);
  });

  // The value at byte 0, 1 or 2 of a 3-byte group gives three different encodings; later offsets repeat them.
  it.each([
    ['', 0],
    ['a', 1],
    ['ab', 2],
    ['abc', 0],
    ['user:', 2],
  ])('redacts base64 of a longer text after the prefix %j (alignment %i)', (prefix) => {
    for (const suffix of ['', 'z', 'yz', '\nmore text']) {
      const plain = `${prefix}${TOKEN}${suffix}`;
      expect(redact(`data: ${base64(plain)} end`)).toBe(`data: ${REDACTED} end`);
      expect(redact(`data: ${base64url(plain)} end`)).toBe(`data: ${REDACTED} end`);
      expect(redact(`data: ${base64(`${prefix}${PASSWORD}${suffix}`)} end`)).toBe(`data: ${REDACTED} end`);
    }
  });

  it('redacts base64url where it differs from base64', () => {
    const plain = `??>${PASSWORD}`;
    expect(base64url(plain)).not.toBe(base64(plain).replace(/=+$/, ''));
    expect(redact(`jwt-ish.${base64url(plain)}.tail`)).toBe(`jwt-ish.${REDACTED}.tail`);
  });

  it('redacts the Basic header git sends, in the exact form and inside a config dump', () => {
    const header = `Authorization: Basic ${base64(`x-access-token:${TOKEN}`)}`;
    expect(redact(header)).toBe(`Authorization: Basic ${REDACTED}`);
    // Without the header name, only the known value can catch it.
    expect(redact(`GIT_CONFIG_VALUE_0=${base64(`x-access-token:${TOKEN}`)}`)).toBe(`GIT_CONFIG_VALUE_0=${REDACTED}`);
    expect(redact(`clone failed (${header})`)).toBe(`clone failed (Authorization: Basic ${REDACTED})`);
  });

  it('redacts the whole base64 run, not just the part that encodes the value', () => {
    const encoded = base64(`user:${TOKEN}`);
    const out = redact(`a ${encoded} b`);
    expect(out).toBe(`a ${REDACTED} b`);
    expect(out).not.toContain(encoded.slice(0, 4));
  });

  it('leaves base64, hex and URL text that does not hold a known value', () => {
    const text = [
      base64('hello world'),
      base64('x-access-token:'),
      base64(TOKEN.replace('1', '2')),
      base64(`ab${TOKEN.slice(0, -1)}`),
      hex(TOKEN.slice(1)),
      encodeURIComponent(PASSWORD.slice(0, -1)),
    ].join(' ');
    expect(redact(text)).toBe(text);
  });

  it('ignores values shorter than 8 characters in every form', () => {
    const short = createRedactor(['hunter2']);
    const text = `hunter2 ${base64('hunter2')} ${base64('x-access-token:hunter2')} ${hex('hunter2')}`;
    expect(short(text)).toBe(text);
  });
});

describe('through the real logger', () => {
  it('keeps a clone failure with the Basic header out of the log lines, which stay JSON', () => {
    const token = `ghs_${'A1b2C3d4'.repeat(5)}`;
    const { logger, lines, text } = captureLogger([token]);
    const header = `AUTHORIZATION: basic ${base64(`x-access-token:${token}`)}`;
    logger.warn({ stderr: `fatal: hook said ${header}\n`, env: { GIT_CONFIG_VALUE_0: header } }, 'clone failed');
    logger.info(`hex ${hex(token)} url ${encodeURIComponent(`x:${token}`)}`);
    expect(text()).not.toContain(token);
    expect(text()).not.toContain(base64(`x-access-token:${token}`).slice(0, 24));
    expect(text()).not.toContain(hex(token).slice(0, 24));
    const [warn, info] = lines();
    expect(warn?.stderr).toBe(`fatal: hook said AUTHORIZATION: basic ${REDACTED}\n`);
    expect(warn?.env).toEqual({ GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${REDACTED}` });
    expect(info?.msg).toBe(`hex ${REDACTED} url x%3A${REDACTED}`);
  });
});

describe('add', () => {
  it('redacts a value learned after the redactor was built, in every form', () => {
    const redact = createRedactor(['first-secret-123']);
    const minted = 'installation-token-minted-later';
    const text = `${minted} ${base64(`x-access-token:${minted}`)} ${hex(minted)}`;
    expect(redact(text)).toBe(text);
    redact.add(minted);
    expect(redact(text)).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
    expect(redact('first-secret-123')).toBe(REDACTED);
  });

  it('takes several values, and ignores short, empty, missing and repeated ones', () => {
    const redact = createRedactor([]);
    redact.add('one-long-secret', undefined, '', 'tiny', 'two-long-secret', 'one-long-secret');
    expect(redact('one-long-secret two-long-secret tiny')).toBe(`${REDACTED} ${REDACTED} tiny`);
  });

  it('keeps working for a caller that holds the redactor as a plain function', () => {
    const redact = createRedactor([]);
    const asFunction: Redactor = redact;
    redact.add('learned-later-secret');
    expect(asFunction('x learned-later-secret')).toBe(`x ${REDACTED}`);
  });
});
