import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** The value of one sample of the Prometheus text, or undefined. */
function sample(metrics: string, name: string, labels = ''): number | undefined {
  const escaped = `${name}${labels}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(metrics);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

describe('/metrics and the start-up line of the bot', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'info' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('logs one start-up line naming mode, model, sandbox provider, store and run engine', () => {
    const lines = h
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const startup = lines.filter((l) => String(l.msg).startsWith('ai-dev is running'));
    expect(startup).toHaveLength(1);
    const line = startup[0] ?? {};
    console.info(line.msg);
    expect(line).toMatchObject({
      level: 30,
      mode: 'HTTP mode',
      model: 'gpt-6.2-sol (reasoning medium)',
      sandbox: 'local (development only)',
      engine: 'local',
      version: '0.1.0',
    });
    expect(String(line.store)).toMatch(/^sqlite .*bot\.sqlite$/);
    expect(line.msg).toMatch(
      /^ai-dev is running \(0\.1\.0\): HTTP mode · model gpt-6\.2-sol \(reasoning medium\) · sandbox local \(development only\) · store sqlite \S+ · engine local · port \d+$/,
    );
  });

  it('counts a scripted run: outcome, duration, tokens, sandbox seconds, Slack calls and 429s', async () => {
    const before = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(sample(before, 'ai_dev_runs_total', '{outcome="pull-request"}')).toBeUndefined();
    expect(sample(before, 'ai_dev_runs_active')).toBe(0);
    const postsBefore = sample(before, 'ai_dev_slack_api_calls_total', '{method="chat.postMessage"}') ?? 0;

    // Slack answers one post with 429: the WebClient waits and retries, and the metric counts it.
    h.slack.rateLimit({ method: 'chat.postMessage', times: 1, retryAfterSeconds: 0 });
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'notes\n' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add notes', body: 'Notes.' } }]),
      text('Added the notes.'),
    ]);
    const root = await h.mention('add NOTES.md');
    expect(await h.waitForEnd(root)).toMatch(/Opened pull request/);

    const res = await fetch(`${h.botUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const after = await res.text();
    expect(sample(after, 'ai_dev_runs_total', '{outcome="pull-request"}')).toBe(1);
    expect(sample(after, 'ai_dev_run_duration_seconds_count', '{outcome="pull-request"}')).toBe(1);
    expect(sample(after, 'ai_dev_runs_active')).toBe(0);
    expect(sample(after, 'ai_dev_runs_queued')).toBe(0);
    const input = sample(after, 'ai_dev_model_tokens_total', '{kind="input"}') ?? 0;
    const output = sample(after, 'ai_dev_model_tokens_total', '{kind="output"}') ?? 0;
    expect(input).toBeGreaterThan(0);
    expect(output).toBeGreaterThan(0);
    expect(sample(after, 'ai_dev_sandbox_seconds_total')).toBeGreaterThan(0);
    expect(sample(after, 'ai_dev_cost_dollars_total')).toBe(0);
    expect(sample(after, 'ai_dev_slack_api_calls_total', '{method="chat.postMessage"}')).toBeGreaterThan(postsBefore);
    expect(sample(after, 'ai_dev_slack_api_rate_limited_total', '{method="chat.postMessage"}')).toBe(1);
    // prom-client's default process and Node.js metrics, event-loop lag among them.
    expect(after).toMatch(/^process_cpu_user_seconds_total \S+$/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds \S+$/m);
    console.info(
      `one run: ${input} input + ${output} output tokens, ${sample(after, 'ai_dev_sandbox_seconds_total')} sandbox seconds`,
    );
  });

  it('answers /readyz in HTTP mode: listening and the store reachable', async () => {
    const res = await fetch(`${h.botUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { slack: 'ok', store: 'ok' } });
  });
});
