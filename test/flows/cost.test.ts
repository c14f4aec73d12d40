import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS } from '../fakes/slack-server.js';
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
    // The sandbox's part, priced as of the last model turn, is named when there is one.
    expect(pull?.body).toMatch(
      /Cost of this run so far: \$1\.36 \(model \$1\.36 over 2 requests(, sandbox <\$0\.01)?\)\./,
    );
  });
});

describe('the sandbox’s time counts against the budget while the run goes on', () => {
  let h: Harness;
  // One sandbox-second costs 1 vCPU × $0.50 + 1 GiB × $0.50 = $1.00: the sandbox alone passes a $0.50 budget.
  const perSecond = 1 * 0.5 + 1 * 0.5;

  beforeAll(async () => {
    h = await startHarness({
      env: {
        LOG_FORMAT: 'json',
        SANDBOX_VCPUS: '1',
        SANDBOX_MEMORY_GIB: '1',
        SANDBOX_VCPU_PRICE: '0.5',
        SANDBOX_GIB_PRICE: '0.5',
      },
    });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('pauses at a dollar budget the sandbox alone passed, before the next model request', async () => {
    // $0.0002 of model per request: only the sandbox's seconds can pass the budget.
    const usage = { input_tokens: 100, cached_tokens: 0, output_tokens: 0 };
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'sleep 1', timeout_seconds: 30 } }], { usage }),
      toolCalls([{ name: 'run_command', arguments: { command: 'sleep 2', timeout_seconds: 30 } }], { usage }),
    ]);
    const before = h.openai.requests.length;
    const root = await h.mention('wait three seconds budget=$2.50');
    const end = await h.waitForEnd(root);

    // A little over $1 (the sandbox's start and a second) when the second request went; the check before the third
    // saw three seconds more.
    expect(h.openai.requests.length - before).toBe(2);
    expect(end).toMatch(/Budget reached: this run used its \$2\.50 budget/);

    const cost = lastCostLine(h.logs());
    const model = (2 * 100 * 2) / 1e6; // gpt-6.2-sol, $2 per 1M input tokens
    const seconds = cost?.sandboxSeconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(3);
    expect(cost?.modelDollars).toBeCloseTo(model, 6);
    expect(cost?.sandboxDollars).toBeCloseTo(seconds * perSecond, 3);
    expect(cost?.dollars).toBeCloseTo(model + seconds * perSecond, 3);

    // The final message and the card show the hand computation, to the cent.
    const cents = (figure: string | undefined) => Number(figure);
    const shown = /\$(\d+\.\d\d) \(model <\$0\.01, sandbox \$(\d+\.\d\d)\) of \$2\.50/.exec(end);
    expect(shown).not.toBeNull();
    expect(Math.abs(cents(shown?.[1]) - (model + seconds * perSecond))).toBeLessThanOrEqual(0.006);
    expect(Math.abs(cents(shown?.[2]) - seconds * perSecond)).toBeLessThanOrEqual(0.006);
    const card = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === root);
    const versions = h.slack.messageHistory(DEFAULT_IDS.channelId, String(card?.response?.ts));
    expect(versions.at(-1)?.text).toContain(`*$${shown?.[1]}* of $2.50`);
    // While the run was still working the card already counted the sandbox's first second
    const working = versions
      .filter((v) => v.text.startsWith(':hourglass_flowing_sand: Working'))
      .map((v) => cents(/\*\$(\d+\.\d\d)\* of \$2\.50/.exec(v.text)?.[1] ?? '0'));
    // (what the sandbox had cost during the second request; the run's last figure is $3 and more).
    expect(working.some((figure) => figure >= 1 && figure < 2.5)).toBe(true);
  });
});
