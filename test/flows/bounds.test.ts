import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hang, text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

describe('bounds on what one run, and one instance, may take', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RUN_MAX_CONCURRENT: '1' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: { 'README.md': '# w\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs at most 8 tool calls of one turn; the rest are told to call again', async () => {
    const calls = Array.from({ length: 11 }, (_, i) => ({
      name: 'run_command',
      arguments: { command: `echo call-${i}` },
      callId: `call_many_${i}`,
    }));
    h.openai.script([
      toolCalls(calls),
      (req) => {
        const outputs = req.functionCallOutputs;
        expect(outputs).toHaveLength(11);
        outputs.slice(0, 8).forEach((o, i) => {
          expect(String(o.output)).toContain(`call-${i}`);
        });
        for (const o of outputs.slice(8)) {
          expect(String(o.output)).toMatch(
            /^Error: too many tool calls at once: 11 in one turn, and at most 8 run together/,
          );
        }
        return text('Looked eight times.');
      },
    ]);
    const root = await h.mention('look around a lot');
    expect(await h.waitForEnd(root)).toContain('Looked eight times.');
  });

  it('queues a run past RUN_MAX_CONCURRENT, tells its thread its place, and starts it when a place frees', async () => {
    h.openai.script([hang()]);
    const first = await h.mention('think forever');
    await h.openai.waitForRequests(h.openai.requests.length + 1, 10_000);
    const requests = h.openai.requests.length;
    const second = await h.mention('then say hi');
    await expect
      .poll(
        () =>
          h
            .thread(second)
            .map((m) => m.text)
            .join('\n'),
        { timeout: 5_000 },
      )
      .toContain('Queued: 1 run is ahead of this one on this bot (at most 1 at once)');
    expect(h.openai.requests.length).toBe(requests);

    h.openai.script([text('Hi!')]);
    await h.click('ai_dev_stop', first);
    expect(await h.waitForEnd(first)).toMatch(/Stopped/);
    expect(await h.waitForEnd(second)).toContain('Hi!');
  });

  it('a Stop of a queued run ends it without it ever starting', async () => {
    h.openai.script([hang()]);
    const first = await h.mention('think forever again');
    await h.openai.waitForRequests(h.openai.requests.length + 1, 10_000);
    const queued = await h.mention('wait your turn');
    await expect
      .poll(
        () =>
          h
            .thread(queued)
            .map((m) => m.text)
            .join('\n'),
        { timeout: 5_000 },
      )
      .toContain('Queued:');
    const requests = h.openai.requests.length;
    await h.click('ai_dev_stop', queued, { user: 'U0USER' });
    expect(await h.waitForEnd(queued)).toMatch(/Stopped by <@U0USER>/);
    expect(h.openai.requests.length).toBe(requests);
    await h.click('ai_dev_stop', first);
    await h.waitForEnd(first);
    h.openai.takeProblems();
  });
});
