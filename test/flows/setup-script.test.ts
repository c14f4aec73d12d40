import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpError, type Step, text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** Counts its runs beside the checkout (never in it: it would be committed). */
const COUNTING_SETUP = `#!/bin/bash
set -e
echo ran >> ../setup-runs.log
echo "installed 3 packages"
`;
const FAILING_SETUP = `#!/bin/bash
echo "fetching tools"
echo "npm ERR! could not find the registry" >&2
exit 3
`;

describe('repos start warm: .ai-dev/setup.sh', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({
      owner: 'acme',
      name: 'warm',
      files: { 'README.md': '# warm\n', '.ai-dev/setup.sh': COUNTING_SETUP },
    });
    await h.github.addRepo({
      owner: 'acme',
      name: 'broken',
      files: { 'README.md': '# broken\n', '.ai-dev/setup.sh': FAILING_SETUP },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const threadText = (root: string, channel: string) =>
    h
      .thread(root, channel)
      .map((m) => m.text)
      .join('\n');

  it('runs once per new sandbox, before the first tool call, and says so in the thread', async () => {
    await h.command('link acme/warm', { expectResponse: true, channel: 'C0WARM' });
    const countRuns: Step[] = [
      toolCalls([{ name: 'run_command', arguments: { command: 'cat ../setup-runs.log' } }]),
      (req) => {
        expect(String(req.functionCallOutputs[0]?.output).match(/ran/g)).toHaveLength(1);
        return text('Set up once.');
      },
    ];
    h.openai.script(countRuns);
    const root = await h.mention('is the repo set up?', { channel: 'C0WARM' });
    expect(await h.waitForEnd(root, 1, 'C0WARM')).toContain('No changes needed');
    expect(threadText(root, 'C0WARM')).toMatch(
      /Set-up: ran \.ai-dev\/setup\.sh \(from main\) in [\d.]+ m?s\.\ninstalled 3 packages/,
    );

    // The same sandbox takes the follow-up: the set-up does not run again.
    h.openai.script(countRuns);
    await h.reply(root, 'and now?', { channel: 'C0WARM' });
    await h.waitForEnd(root, 2, 'C0WARM');
    expect(threadText(root, 'C0WARM').match(/Set-up: ran/g)).toHaveLength(1);
    h.openai.assertDone();
  });

  it('the link’s --setup commands stand in for the repo’s script', async () => {
    await h.command('link acme/warm --setup "touch ../linked.log"', {
      expectResponse: true,
      channel: 'C0LINKED',
    });
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'ls ../linked.log' } }]),
      (req) => {
        expect(String(req.functionCallOutputs[0]?.output)).toContain('exit code 0');
        return text('Warm.');
      },
    ]);
    const root = await h.mention('warm?', { channel: 'C0LINKED' });
    await h.waitForEnd(root, 1, 'C0LINKED');
    expect(threadText(root, 'C0LINKED')).toMatch(/Set-up: ran `touch \.\.\/linked\.log` \(from the channel’s link\)/);
    h.openai.assertDone();
  });

  it('a failing set-up is reported with its output, and the run goes on', async () => {
    await h.command('link acme/broken', { expectResponse: true, channel: 'C0BROKEN' });
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: 'ls' } }]), text('Looked around.')]);
    const root = await h.mention('look around', { channel: 'C0BROKEN' });
    expect(await h.waitForEnd(root, 1, 'C0BROKEN')).toContain('Looked around.');
    const said = threadText(root, 'C0BROKEN');
    expect(said).toMatch(
      /Set-up: \.ai-dev\/setup\.sh \(from main\) failed with exit 3 after [\d.]+ m?s; I go on without it\./,
    );
    expect(said).toContain('npm ERR! could not find the registry');
    h.openai.assertDone();
  });

  it('a run that fails before its sandbox is ready waits for it: the outcome is still the last reply', async () => {
    await h.command('link acme/warm --setup "sleep 0.5; echo slow but ready"', {
      expectResponse: true,
      channel: 'C0QUICK',
    });
    // The model's first request is refused at once: the sandbox and its set-up are still on their way.
    h.openai.script([httpError(400, { message: 'Unsupported parameter.' })]);
    const root = await h.mention('anything to do?', { channel: 'C0QUICK' });
    expect(await h.waitForEnd(root, 1, 'C0QUICK')).toContain('The run failed');
    // Nothing comes after the outcome, even once the set-up would have finished.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const replies = h.thread(root, 'C0QUICK').map((m) => m.text);
    expect(replies.at(-1)).toContain('The run failed');
    const setup = replies.findIndex((t) => t.includes('Set-up: ran `sleep 0.5; echo slow but ready`'));
    expect(setup).toBeGreaterThanOrEqual(0);
    expect(setup).toBeLessThan(replies.length - 1);
    h.openai.assertDone();
  });
});
