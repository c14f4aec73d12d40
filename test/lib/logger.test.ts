import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { createRedactor } from '../../src/lib/redact.js';

/** Without terminal colours. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  return { stream, text: () => text.replace(ANSI, '') };
}

describe('createLogger', () => {
  const redact = createRedactor(['sk-secret-value-1234567890']);

  it('writes human-readable lines to a terminal, redacted', () => {
    const out = capture(true);
    createLogger({ level: 'info', redact, destination: out.stream }).info(
      { repo: 'acme/w' },
      'key sk-secret-value-1234567890',
    );
    expect(out.text()).toMatch(/INFO.*key \[redacted\]/);
    expect(out.text()).toContain('repo: "acme/w"');
    expect(() => JSON.parse(out.text())).toThrow();
    expect(out.text()).not.toContain('sk-secret-value');
  });

  it('writes JSON lines elsewhere, or when told to', () => {
    const pipe = capture(false);
    createLogger({ level: 'info', redact, destination: pipe.stream }).info('hello sk-secret-value-1234567890');
    expect(JSON.parse(pipe.text())).toMatchObject({ level: 30, msg: 'hello [redacted]', app: 'ai-dev' });
    const forced = capture(true);
    createLogger({ level: 'info', redact, destination: forced.stream, format: 'json' }).info('x');
    expect(JSON.parse(forced.text())).toMatchObject({ msg: 'x' });
    const pretty = capture(false);
    createLogger({ level: 'info', redact, destination: pretty.stream, format: 'pretty' }).info('y');
    expect(pretty.text()).toMatch(/INFO.*y/);
  });
});
