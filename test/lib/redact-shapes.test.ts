import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '../../src/lib/redact.js';
import { trimOutput } from '../../src/lib/trim-output.js';

// Nothing known: everything here is caught by its shape alone.
const redact = createRedactor([]);

const alnum = (n: number, seed = 7) =>
  Array.from({ length: n }, (_, i) => 'aB3dE5fG7hJ9kLmN2pQrS4tUvW6xYz8'[(i * seed) % 31]).join('');

describe('token shapes', () => {
  it.each([
    ['GitHub classic PAT', `ghp_${alnum(36)}`],
    ['GitHub OAuth token', `gho_${alnum(36)}`],
    ['GitHub user-to-server token', `ghu_${alnum(36)}`],
    ['GitHub installation token', `ghs_${alnum(36)}`],
    ['GitHub refresh token', `ghr_${alnum(76)}`],
    [
      'GitHub installation token, long format',
      'ghs_1234567_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTY3IiwiZXhwIjoxNzY0NjAwMDAwfQ.c2lnbmF0dXJlLXBhcnQtX3dpdGgtdXJs',
    ],
    ['GitHub fine-grained PAT', `github_pat_11ABCDEFG0${alnum(22)}_${alnum(59)}`],
    ['Slack bot token', 'xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['Slack user token', 'xoxp-1234567890-1234567890-1234567890123-0123456789abcdef0123456789abcdef'],
    ['Slack legacy workspace token', 'xoxa-2-1234567890-AbCdEf'],
    ['Slack refresh token', 'xoxr-1234567890-AbCdEfGhIjKl'],
    ['Slack session token', 'xoxs-1234567890-1234567890-AbCdEf'],
    ['Slack config token', 'xoxe-1-My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz'],
    ['Slack legacy bot token', 'xoxo-1234567890-AbCdEfGh'],
    ['Slack rotating user token', 'xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MA'],
    ['Slack rotating bot token', 'xoxe.xoxb-1-MS0yLTEyMzQ1Njc4OTAtMTIzNDU2Nzg5MA'],
    ['Slack app-level token', 'xapp-1-A0123456789-1234567890123-0123456789abcdef'],
    ['OpenAI legacy key', `sk-${alnum(48)}`],
    ['OpenAI project key', `sk-proj-${alnum(60)}_${alnum(40)}-${alnum(50)}`],
    ['OpenAI service-account key', `sk-svcacct-${alnum(64)}`],
    ['OpenAI admin key', `sk-admin-${alnum(64)}`],
    ['E2B API key', 'e2b_0123456789abcdef0123456789abcdef01234567'],
    ['E2B access token', 'sk_e2b_0123456789abcdef0123456789abcdef01234567'],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS temporary access key id', 'ASIAY34FZKBOKMUTVV7A'],
    ['npm token', `npm_${alnum(36)}`],
    ['GitLab PAT', 'glpat-xYz123AbC456dEf789gH'],
    ['Stripe live secret key', `sk_live_${alnum(24)}`],
    ['Stripe restricted key', `rk_live_${alnum(24)}`],
    ['Google API key', `AIza${alnum(35)}`],
    [
      'JWT',
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    ],
  ])('redacts a %s', (_, token) => {
    expect(redact(token)).toBe(REDACTED);
    expect(redact(`before ${token} after`)).toBe(`before ${REDACTED} after`);
    expect(redact(`TOKEN=${token}\n`)).toBe(`TOKEN=${REDACTED}\n`);
    expect(redact(`{"token":"${token}"}`)).toBe(`{"token":"${REDACTED}"}`);
  });

  it.each([
    ['a GitHub prefix with a short tail', 'ghp_shortvalue12'],
    ['an unknown GitHub-like prefix', `ghx_${alnum(36)}`],
    ['a GitHub prefix inside a word', `sigh_${alnum(36)}`],
    ['a short github_pat_', 'github_pat_tooshort'],
    ['xoxo as a sign-off', 'xoxo-hugs-and-kisses-from-me'],
    ['a Slack prefix with a short tail', 'xoxb-123'],
    ['a kebab-case name after sk-', 'sk-learn-pipeline-helpers-extra'],
    ['sk- inside a word', 'task-runner-2024-upgrade-abcdefgh'],
    ['a short sk- value', 'sk-abc123'],
    ['a short e2b_ value', 'e2b_short123'],
    ['an AWS-like id one character short', 'AKIAIOSFODNN7EXAMPL'],
    ['an AWS-like id one character long', 'AKIAIOSFODNN7EXAMPLEX'],
    ['an AWS-like id in lower case', 'akiaiosfodnn7example'],
    ['an npm config variable', 'npm_config_cache=/home/user/.npm npm_package_name=ai-dev npm_lifecycle_event'],
    ['a short npm_ value', `npm_${alnum(20)}`],
    ['a short glpat-', 'glpat-short'],
    ['a Stripe publishable key', `pk_live_${alnum(24)}`],
    ['a Google-like key one character short', `AIza${alnum(34)}`],
    ['a single base64 JSON object', 'eyJuYW1lIjoiYWktZGV2IiwidmVyc2lvbiI6IjAuMS4wIn0='],
    ['two base64 JSON parts without a signature dot', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
  ])('leaves %s', (_, text) => {
    expect(redact(text)).toBe(text);
  });

  it('keeps a Slack webhook host and removes its path', () => {
    expect(redact('curl https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX -d @x')).toBe(
      `curl https://hooks.slack.com/services/${REDACTED} -d @x`,
    );
    expect(redact('https://hooks.slack.com/triggers/T0123/456789/abcdef0123')).toBe(
      `https://hooks.slack.com/triggers/${REDACTED}`,
    );
    expect(redact('see https://api.slack.com/messaging/webhooks')).toBe('see https://api.slack.com/messaging/webhooks');
  });

  it('redacts an AWS secret access key next to its name', () => {
    const key = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(redact(`aws_secret_access_key = ${key}`)).toBe(`aws_secret_access_key = ${REDACTED}`);
    expect(redact(`AWS_SECRET_ACCESS_KEY=${key}`)).toBe(`AWS_SECRET_ACCESS_KEY=${REDACTED}`);
    expect(redact(`{"aws_secret_access_key": "${key}"}`)).toBe(`{"aws_secret_access_key": "${REDACTED}"}`);
    expect(redact(`some_other_value = ${key}`)).toBe(`some_other_value = ${key}`);
  });

  it('redacts whatever follows an auth scheme in an Authorization header', () => {
    expect(redact('Authorization: Bearer abc.def-ghi_jkl')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redact('http.extraheader=AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hwX1dX')).toBe(
      `http.extraheader=AUTHORIZATION: basic ${REDACTED}`,
    );
    expect(redact('curl -H "Authorization: token abcdef0123456789"')).toBe(
      `curl -H "Authorization: token ${REDACTED}"`,
    );
    expect(redact('{"authorization":"Bot abcdefgh12345678"}')).toBe(`{"authorization":"Bot ${REDACTED}"}`);
    expect(redact('{\\"Authorization\\":\\"Bearer abcdefgh12345678\\"}')).toBe(
      `{\\"Authorization\\":\\"Bearer ${REDACTED}\\"}`,
    );
    expect(redact('Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe(`Proxy-Authorization: Basic ${REDACTED}`);
    expect(redact('Bearer abcdefghijklmnopqrstuvwxyz012345')).toBe(`Bearer ${REDACTED}`);
    for (const text of [
      'Authorization: required for this endpoint',
      'Authorization: Bearer $TOKEN',
      `Authorization: \`Bearer \${token}\``,
      'The bearer of bad news arrived.',
      'Bearer tokens expire after an hour.',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });
});

describe('passwords in URLs', () => {
  it.each([
    ['redis://default:s3cr3t-Pa55@redis.example.com:6379/0', `redis://default:${REDACTED}@redis.example.com:6379/0`],
    ['rediss://:only-a-password@cache.internal:6380', `rediss://:${REDACTED}@cache.internal:6380`],
    ['postgres://app:p%40ss%2Fword@db:5432/app', `postgres://app:${REDACTED}@db:5432/app`],
    ['mongodb+srv://admin:hunter22@cluster0.example.net/x', `mongodb+srv://admin:${REDACTED}@cluster0.example.net/x`],
    ['redis://:p@ss@host:6379', `redis://:${REDACTED}@host:6379`],
    ['STORE_URL="redis://u:pw-123@h:1"', `STORE_URL="redis://u:${REDACTED}@h:1"`],
    [
      'https://x-access-token:some-unknown-token@github.com/acme/widgets.git',
      `https://x-access-token:${REDACTED}@github.com/acme/widgets.git`,
    ],
  ])('redacts the password in %s', (text, expected) => {
    expect(redact(text)).toBe(expected);
  });

  it.each([
    'https://github.com/acme/widgets',
    'git@github.com:acme/widgets.git',
    'ssh://git@github.com/acme/widgets.git',
    'https://token-only@github.com/acme/widgets.git',
    'http://localhost:3000/users/me@example.com',
    'redis://localhost:6379',
    'see https://example.com:8080 or write to me@example.com',
    `const url = \`https://x-access-token:\${token}@github.com/\${repo}.git\`;`,
    'url="https://$USER:$PASSWORD@example.com"',
    'https://{{user}}:{{password}}@example.com',
  ])('leaves %s', (text) => {
    expect(redact(text)).toBe(text);
  });
});

describe('PEM private keys', () => {
  // A realistic body: 25 lines of 64 base64 characters and a short last line.
  const body = [...Array.from({ length: 25 }, (_, i) => Buffer.alloc(48, i * 7 + 1).toString('base64')), 'AbCdEfGh=='];
  const pem = (kind: string) => `-----BEGIN ${kind}-----\n${body.join('\n')}\n-----END ${kind}-----`;

  it.each(['RSA PRIVATE KEY', 'PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'])(
    'redacts a whole %s',
    (kind) => {
      expect(redact(`key:\n${pem(kind)}\nnext line`)).toBe(`key:\n${REDACTED}\nnext line`);
    },
  );

  it('redacts a key with PEM headers, CRLF line ends, or spaces for newlines', () => {
    const headers = `-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF\n\n${body.join('\n')}\n-----END RSA PRIVATE KEY-----`;
    expect(redact(`a\n${headers}\nb`)).toBe(`a\n${REDACTED}\nb`);
    expect(redact(`a\r\n${pem('PRIVATE KEY').replaceAll('\n', '\r\n')}\r\nb`)).toBe(`a\r\n${REDACTED}\r\nb`);
    expect(redact(`KEY="${pem('PRIVATE KEY').replaceAll('\n', ' ')}" next`)).toBe(`KEY="${REDACTED}" next`);
  });

  it('redacts a PGP private key block with its armor headers', () => {
    const pgp = `-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\nComment: test\n\n${body.join('\n')}\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----`;
    expect(redact(`a\n${pgp}\nb`)).toBe(`a\n${REDACTED}\nb`);
    expect(redact(`a\n${pgp.slice(0, 400)}`)).toBe(`a\n${REDACTED}`);
  });

  it('redacts a key cut by trimming: the head from BEGIN, the tail up to END', () => {
    const output = `$ cat key.pem\n${pem('RSA PRIVATE KEY')}\nexit code 0`;
    const trimmed = trimOutput(output, 900);
    expect(trimmed).toContain('left out');
    expect(trimmed).toContain('-----BEGIN RSA PRIVATE KEY-----');
    expect(trimmed).toContain('-----END RSA PRIVATE KEY-----');
    const out = redact(trimmed);
    for (const line of body) expect(out).not.toContain(line);
    expect(out).toMatch(
      /^\$ cat key\.pem\n\[redacted\]\n+… \[\d+ chars, \d+ lines left out\] …\n\[redacted\]\nexit code 0$/,
    );
  });

  it('redacts a key whose END was cut off, to the end of the text', () => {
    const cut = pem('PRIVATE KEY').slice(0, 700);
    expect(redact(`key: ${cut}`)).toBe(`key: ${REDACTED}`);
    // Cut in the middle of a line, followed by a trim marker.
    expect(redact(`${cut}… [1234 chars left out] …\nexit 1`)).toBe(`${REDACTED}… [1234 chars left out] …\nexit 1`);
  });

  it('stops a cut key at the first line of prose after its body', () => {
    const cut = `-----BEGIN PRIVATE KEY-----\n${body.slice(0, 3).join('\n')}\nThe command failed with exit code 1\n`;
    expect(redact(cut)).toBe(`${REDACTED}\nThe command failed with exit code 1\n`);
  });

  it('redacts a key whose BEGIN was cut off, from the start of its body', () => {
    const tail = `${body.slice(-4).join('\n')}\n-----END PRIVATE KEY-----`;
    expect(redact(`Here is the end of it\n${tail}\ndone`)).toBe(`Here is the end of it\n${REDACTED}\ndone`);
    // A partial first line after a quote, as in a JSON string.
    expect(redact(`"zzzz${tail}"`)).toBe(`"${REDACTED}"`);
  });

  it('keeps a JSON log line valid when it cuts a key with escaped newlines', () => {
    const line = JSON.stringify({ level: 30, msg: `key ${pem('RSA PRIVATE KEY').slice(0, 500)}`, more: 1 });
    expect(JSON.parse(redact(line))).toEqual({ level: 30, msg: `key ${REDACTED}`, more: 1 });
    const tail = JSON.stringify({ msg: `${pem('RSA PRIVATE KEY').slice(-300)} after` });
    expect(JSON.parse(redact(tail))).toEqual({ msg: `${REDACTED} after` });
  });

  it('leaves public keys, certificates and a bare marker', () => {
    const pub = `-----BEGIN PUBLIC KEY-----\n${body.slice(0, 4).join('\n')}\n-----END PUBLIC KEY-----`;
    const cert = `-----BEGIN CERTIFICATE-----\n${body.slice(0, 4).join('\n')}\n-----END CERTIFICATE-----`;
    const code = "if (pem.startsWith('-----BEGIN RSA PRIVATE KEY-----')) return 'pkcs1';";
    const split = "const head = '-----BEGIN PRIVATE KEY-----\\n' + body + '-----END PRIVATE KEY-----';";
    for (const text of [pub, cert, code, split]) expect(redact(text)).toBe(text);
  });
});

describe('false positives', () => {
  it('leaves ordinary developer text alone', () => {
    const text = [
      'The quick brown fox jumps over the lazy dog; tests passed in 1.2 s.',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'Merge: 0a1b2c3 4d5e6f7',
      'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      'run 123e4567-e89b-12d3-a456-426614174000 started',
      '"integrity": "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="',
      '"resolved": "https://registry.npmjs.org/@slack/bolt/-/bolt-5.1.0.tgz"',
      'npm install @types/node@24 @biomejs/biome sk-hynix-sdk task-runner e2b@2.51.0 skia-canvas',
      'import { pino } from "pino"; const ask = "ask-question-about-item-12345678";',
      '/home/user/repo/node_modules/.bin/vitest run test/lib/redact.test.ts:42:7',
      'C:\\Users\\dev\\AppData\\Local\\npm-cache\\_cacache\\index-v5',
      `aGVsbG8= d29ybGQ= Zm9vYmFy ${Buffer.from('password').toString('base64')} ${Buffer.from('a secret word').toString('base64')}`,
      'GITHUB_TOKEN, SLACK_BOT_TOKEN, OPENAI_API_KEY and E2B_API_KEY are read from the environment.',
      'export const AUTHORIZATION_HEADER = "authorization";',
      'ghost_writer high_priority_items shared_secret_manager xox-tests AKIA',
      'eyJ is how base64 JSON starts; see RFC 7519 section 3.',
      'See https://user@example.com/path and mailto:someone@example.com',
      '0123456789abcdef0123456789abcdef01234567 deadbeefcafebabe',
      '-----BEGIN PGP SIGNATURE-----\niQEzBAABCAAdFiEE\n-----END PGP SIGNATURE-----',
    ].join('\n');
    expect(redact(text)).toBe(text);
    // And with known values present, which must not change any of it.
    expect(createRedactor(['xoxb-not-in-this-text-1234', 'another-long-secret-value'])(text)).toBe(text);
  });

  it('leaves runs of repeated prefixes alone', () => {
    // Each of these once made a shape scan ahead from every repetition.
    for (const unit of ['xoxb-', 'xapp-', 'sk-', 'sk-a', 'npm_', 'eyJ.', '-----END PRIVATE KEY-----']) {
      const text = unit.repeat(20_000);
      expect(redact(text)).toBe(text);
    }
  });

  it('leaves a large base64 blob and a large log alone', () => {
    const blob = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251)).toString('base64');
    const log = 'npm warn deprecated inflight@1.0.6: This module is not supported.\n'.repeat(5_000);
    const withKnown = createRedactor(['plain-token-value-123', 'xoxb-1234567890-abcdef']);
    expect(withKnown(blob)).toBe(blob);
    expect(withKnown(log)).toBe(log);
  });
});
