import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/slack/command-parser.js';

const server = 'https://github.com';

describe('parseCommand', () => {
  it('treats nothing, help and unknown verbs as help', () => {
    for (const text of ['', '   ', 'help', 'HELP', 'frobnicate acme/x']) {
      expect(parseCommand(text, server)).toEqual({ kind: 'help' });
    }
  });

  it('reads link, unlink and list', () => {
    expect(parseCommand('list', server)).toEqual({ kind: 'list' });
    expect(parseCommand('link acme/widgets', server)).toEqual({
      kind: 'link',
      repo: { owner: 'acme', name: 'widgets' },
    });
    expect(parseCommand('Unlink https://github.com/acme/widgets.git', server)).toEqual({
      kind: 'unlink',
      repo: { owner: 'acme', name: 'widgets' },
    });
  });

  it('reads a link’s --setup commands (straight or typographic quotes) and --template', () => {
    expect(parseCommand('link acme/widgets --setup "npm ci && npm run build" --template node-22', server)).toEqual({
      kind: 'link',
      repo: { owner: 'acme', name: 'widgets' },
      setup: 'npm ci && npm run build',
      template: 'node-22',
    });
    expect(parseCommand('link --setup \u201cpip install -e .\u201d acme/widgets', server)).toMatchObject({
      setup: 'pip install -e .',
    });
    expect(parseCommand('link acme/widgets --setup', server)).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/needs a value/),
    });
    expect(parseCommand('link acme/widgets --template "a b"', server)).toMatchObject({
      kind: 'invalid',
      problem: expect.stringMatching(/not an E2B template/),
    });
  });

  it('answers bad input with a problem and the usage line', () => {
    const none = parseCommand('link', server);
    expect(none).toMatchObject({ kind: 'invalid', problem: expect.stringMatching(/Which repo/) });
    const extra = parseCommand('link acme/widgets please', server);
    expect(extra).toMatchObject({ kind: 'invalid', problem: expect.stringMatching(/exactly one repo/) });
    const shell = parseCommand('link acme/`rm -rf`', server);
    expect(shell).toMatchObject({ kind: 'invalid' });
    const dots = parseCommand('unlink ../..', server);
    expect(dots).toMatchObject({ kind: 'invalid', usage: expect.stringMatching(/unlink owner\/repo/) });
  });

  it('keeps echoed input short and inside its code span', () => {
    const parsed = parseCommand(`link ${'x`'.repeat(100)}`, server);
    if (parsed.kind !== 'invalid') throw new Error('expected invalid');
    expect(parsed.problem).not.toContain('x`x');
    expect(parsed.problem.length).toBeLessThan(140);
  });
});
