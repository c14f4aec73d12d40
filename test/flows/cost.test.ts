import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** The bot's `run cost` log line of the newest run (JSON logs). */
function lastCostLine(logs: string): Record<string, number> | undefined {
  const lines = logs
    .split('\n')
    .filter((line) => line.includes('"msg":"run cost"'))
    .map((line) => JSON.parse(line) as Record<string, number>);
  return lines.at(-1);
}

describe('the cost meter in a run', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { LOG_FORMAT: 'json' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('prices each response (cached input, the long-context step) and shows dollars in Slack, the PR and the log', async () => {
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'notes\n' } }], {
        usage: { input_tokens: 100_000, cached_tokens: 40_000, output_tokens: 2_000 },
      }),
      text('Wrote the notes.', { usage: { input_tokens: 300_000, cached_tokens: 0, output_tokens: 1_000 } }),
    ]);
    const root = await h.mention('write some notes');
    const end = await h.waitForEnd(root);

    // gpt-6.2-sol: $2 input, $0.10 cached input, $10 output per 1M tokens; above 272 000 input tokens the whole
    // request is billed 2× input and 1.5× output.
    const first = (60_000 * 2 + 40_000 * 0.1 + 2_000 * 10) / 1e6; // 0.144
    const second = (300_000 * 2 * 2 + 1_000 * 10 * 1.5) / 1e6; // 1.215
    const model = first + second; // 1.359

    const cost = lastCostLine(h.logs());
    expect(cost?.modelDollars).toBeCloseTo(model, 4);
    expect(cost?.requests).toBe(2);
    expect(cost?.cachedInputTokens).toBe(40_000);
    expect(cost?.dollars).toBeCloseTo(model + (cost?.sandboxDollars ?? 0), 4);
    expect(cost?.sandboxSeconds).toBeGreaterThanOrEqual(0);

    expect(end).toContain('model $1.36');
    expect(end).toMatch(/\$1\.3\d \(model \$1\.36, sandbox (<\$0\.01|\$0\.\d\d)\) of \$10\.00/);
    const [pull] = h.github.pulls('acme', 'widgets');
    expect(pull?.body).toContain('Cost of this run so far: $1.36 (model $1.36 over 2 requests).');
  });
});
