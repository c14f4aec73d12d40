import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

// The E2B SDK's own command timeout is 60 s; ours comes from the tool and COMMAND_TIMEOUT_SECONDS.
describe('a command longer than a minute on E2B', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ sandbox: 'e2b' });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs to the end instead of being cut at 60 s', { timeout: 120_000 }, async () => {
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'sleep 62; echo finished', timeout_seconds: 100 } }]),
      (req) => {
        const output = String(req.functionCallOutputs[0]?.output);
        expect(output).toMatch(/exit code 0/i);
        expect(output).toContain('finished');
        return text('It finished.');
      },
    ]);
    const root = await h.mention('run the long job');
    const end = await h.waitForEnd(root, 1, undefined, 100_000);
    expect(end).toContain('It finished');
    const timeouts = h.e2b?.envdRequests.map((r) => r.connectTimeoutMs).filter((t) => t !== undefined) ?? [];
    expect(timeouts).toContain(100_000);
    h.openai.assertDone();
  });
});
