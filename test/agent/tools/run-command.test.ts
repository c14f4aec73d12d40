import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { effectiveTimeout, runCommand } from '../../../src/agent/tools/run-command.js';
import { AbortedError } from '../../../src/lib/errors.js';
import { type Harness, makeHarness } from './harness.js';

describe('run_command', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => {
    await h.dispose();
  });

  it('runs in the repo root and reports exit code, duration and output', async () => {
    const result = await h.call(runCommand, { command: 'pwd && ls && echo warn >&2' });
    expect(result.output).toMatch(
      /^exit code 0 \(\d+ ms\)\nstdout:\n.*\/repo\nREADME\.md\ndocs\nsrc\n\nstderr:\nwarn\n$/,
    );
    expect(result.action).toMatchObject({
      kind: 'command',
      command: 'pwd && ls && echo warn >&2',
      exitCode: 0,
      timedOut: false,
    });
    expect(result.action?.kind === 'command' && result.action.output).toMatch(/README\.md\ndocs\nsrc\nwarn$/);
  });

  it('reports a non-zero exit as an ordinary result', async () => {
    const result = await h.call(runCommand, { command: 'echo oops >&2; exit 3', timeout_seconds: null });
    expect(result.output).toMatch(/^exit code 3 \(\d+ ms\)\nstderr:\noops\n$/);
    expect(result.action).toMatchObject({ kind: 'command', exitCode: 3, output: 'oops' });
  });

  it('never returns an empty output', async () => {
    expect((await h.call(runCommand, { command: 'true' })).output).toMatch(/^exit code 0 \(\d+ ms\)\n\(no output\)$/);
  });

  it('keeps the head and tail of long output within outputMaxChars', async () => {
    h.context.limits.outputMaxChars = 3000;
    const result = await h.call(runCommand, { command: 'seq 1 100000; echo done >&2' });
    expect(result.output.length).toBeLessThanOrEqual(3000);
    expect(result.output).toContain('stdout:\n1\n2\n3\n');
    expect(result.output).toMatch(/99999\n100000\n\nstderr:\ndone\n$/);
    // Output this long is read back only at its ends, so the cut is counted in bytes, not lines.
    expect(result.output).toMatch(/… \[\d+ bytes left out\] …/);
    const excerpt = result.action?.kind === 'command' ? result.action.output : '';
    expect(excerpt.split('\n')).toHaveLength(21);
    expect(excerpt).toMatch(/^… \(earlier output left out\)\n99982\n/);
  });

  it('caps the timeout by the limit and says the command timed out', async () => {
    h.context.limits.commandTimeoutSeconds = 1;
    const result = await h.call(runCommand, { command: 'echo started; sleep 5; echo finished', timeout_seconds: 60 });
    // Killed at the limit: what it would print after its sleep never comes.
    expect(result.output).not.toContain('finished');
    expect(result.action).toMatchObject({ kind: 'command', timedOut: true });
    expect(result.output).toContain('timed out after 1 s and was killed (the limit is 1 s)');
    expect(result.output).toContain('stdout:\nstarted\n');
  });

  it('throws when the run is stopped, so Stop ends the run', async () => {
    const pending = h.call(runCommand, { command: 'sleep 5' });
    setTimeout(() => h.abort.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await expect(h.call(runCommand, { command: 'echo never' })).rejects.toBeInstanceOf(AbortedError);
  });

  it('commits made by the model are by the bot, in UTC', async () => {
    await h.call(runCommand, { command: 'echo x >> README.md && git commit -qam "By hand"' });
    expect(await h.sh('git log -1 --format="%an <%ae> %ai"')).toMatch(
      /^ai-dev <ai-dev@users\.noreply\.github\.com> .* \+0000\n$/,
    );
  });
});

describe('effectiveTimeout', () => {
  it('takes the asked timeout or the default, never more than the limit nor less than a second', () => {
    expect(effectiveTimeout(undefined, 600)).toBe(300);
    expect(effectiveTimeout(null, 120)).toBe(120);
    expect(effectiveTimeout(30, 120)).toBe(30);
    expect(effectiveTimeout(900, 120)).toBe(120);
    expect(effectiveTimeout(0, 120)).toBe(120);
    expect(effectiveTimeout(0.2, 120)).toBe(1);
  });
});
