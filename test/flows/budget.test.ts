import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

describe('run budgets', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RUN_MAX_TURNS: '2', OUTPUT_MAX_CHARS: '2000', COMMAND_TIMEOUT_SECONDS: '1' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pauses at the turn budget with a Continue button, and Continue resumes with a fresh budget', async () => {
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'seq 1 5000', timeout_seconds: 30 } }]),
      (req) => {
        // Output is trimmed to OUTPUT_MAX_CHARS with head and tail kept.
        const output = String(req.functionCallOutputs[0]?.output ?? '');
        expect(output.length).toBeLessThanOrEqual(2000);
        expect(output).toMatch(/chars, \d+ lines left out/);
        expect(output).toMatch(/\n1\n2\n/);
        expect(output).toContain('5000');
        return toolCalls([{ name: 'run_command', arguments: { command: 'sleep 5', timeout_seconds: 30 } }]);
      },
    ]);
    const root = await h.mention('count a lot');
    const end = await h.waitForEnd(root);
    expect(h.openai.stepErrors).toEqual([]);
    expect(end).toMatch(/Budget reached/);
    const endCall = h.slack
      .callsOf('chat.postMessage')
      .filter((c) => c.args.thread_ts === root)
      .at(-1);
    expect(JSON.stringify(endCall?.args.blocks)).toContain('ai_dev_continue');
    h.openai.assertDone();

    h.openai.script([
      (req) => {
        // The command owed from the paused run: capped by COMMAND_TIMEOUT_SECONDS=1, not the 30 asked for.
        expect(req.functionCallOutputs).toHaveLength(1);
        expect(req.functionCallOutputs[0]?.output).toMatch(/timed out/i);
        expect(req.inputText).toContain('Continue where you stopped');
        return text('Done counting.');
      },
    ]);
    await h.click('ai_dev_continue', root);
    const resumed = await h.waitForEnd(root, 2);
    expect(resumed).toContain('Done counting');
    h.openai.assertDone();
  });
});
