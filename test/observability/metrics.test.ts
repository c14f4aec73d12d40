import { describe, expect, it } from 'vitest';
import type { RunTotals } from '../../src/agent/events.js';
import { Metrics, teeReporters } from '../../src/observability/metrics.js';
import { readiness } from '../../src/observability/probes.js';
import { describeStore, startupFacts } from '../../src/observability/startup.js';

const totals = (extra: Partial<RunTotals> = {}): RunTotals => ({
  turns: 2,
  inputTokens: 300,
  outputTokens: 30,
  totalTokens: 330,
  elapsedMs: 90_000,
  sandboxMs: 12_500,
  filesChanged: [],
  commands: [],
  ...extra,
});

async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const found = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

describe('Metrics', () => {
  it('times a run’s first tool result, cold (a new sandbox) apart from warm (a reused one)', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let clock = 1_000;
    const action = {
      type: 'action-end' as const,
      id: 'a1',
      tool: 'list_files',
      action: { kind: 'files-listed' as const, path: '.', count: 3 },
    };
    for (const [thread, reused, took] of [
      ['C1:1.1', false, 9_000],
      ['C1:2.2', true, 2_000],
    ] as const) {
      const observer = metrics.runObserver(thread, () => clock);
      observer.handle({ type: 'run-start', repo: 'acme/w', baseBranch: 'main', branch: 'ai-dev/x' });
      observer.handle({ type: 'sandbox-ready', repo: 'acme/w', sandboxId: 's', reused });
      clock += took;
      observer.handle(action);
      clock += 50_000;
      observer.handle(action);
    }
    const metric = await metrics.registry.getSingleMetric('ai_dev_first_tool_result_seconds')?.get();
    const sum = (start: string) =>
      metric?.values.find(
        (v) => v.labels.start === start && (v as { metricName?: string }).metricName?.endsWith('_sum'),
      )?.value;
    expect(sum('cold')).toBe(9);
    expect(sum('warm')).toBe(2);
  });

  it('counts a run from its events: tokens as they come, then outcome, duration and sandbox time', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = metrics.runObserver('C1:1.1');
    observer.handle({ type: 'run-start', repo: 'acme/w', baseBranch: 'main', branch: 'ai-dev/x' });
    expect(metrics.activeRuns).toBe(1);
    // Usage events carry the run's running totals.
    observer.handle({ type: 'usage', turns: 1, inputTokens: 100, outputTokens: 10, totalTokens: 110 });
    observer.handle({ type: 'usage', turns: 2, inputTokens: 300, outputTokens: 30, totalTokens: 330 });
    expect(await value(metrics, 'ai_dev_model_tokens_total', { kind: 'input' })).toBe(300);
    observer.handle({ type: 'run-end', outcome: { kind: 'no-changes', answer: 'ok', totals: totals() } });
    expect(await value(metrics, 'ai_dev_model_tokens_total', { kind: 'input' })).toBe(300);
    expect(await value(metrics, 'ai_dev_model_tokens_total', { kind: 'output' })).toBe(30);
    expect(await value(metrics, 'ai_dev_runs_total', { outcome: 'no-changes' })).toBe(1);
    expect(await value(metrics, 'ai_dev_sandbox_seconds_total')).toBe(12.5);
    expect(metrics.activeRuns).toBe(0);
    const text = await metrics.text();
    expect(text).toMatch(/^ai_dev_run_duration_seconds_bucket\{le="120",outcome="no-changes"\} 1$/m);
    expect(text).toMatch(/^ai_dev_run_duration_seconds_bucket\{le="60",outcome="no-changes"\} 0$/m);
  });

  it('a run-end without its start (a crash report, an interrupted run) counts the outcome, not a duration', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.runObserver('C1:2.2').handle({ type: 'run-start', repo: 'a/b', baseBranch: 'main', branch: 'ai-dev/y' });
    // The coordinator reports a crash through a new reporter of the same thread.
    metrics.runObserver('C1:2.2').handle({
      type: 'run-end',
      outcome: { kind: 'failed', reason: 'x', reference: 'ERR-1', totals: totals({ elapsedMs: 0, sandboxMs: 0 }) },
    });
    expect(await value(metrics, 'ai_dev_runs_total', { outcome: 'failed' })).toBe(1);
    expect(metrics.activeRuns).toBe(0);
    expect(await metrics.text()).not.toMatch(/ai_dev_run_duration_seconds_count\{outcome="failed"\}/);
    expect(await value(metrics, 'ai_dev_model_tokens_total', { kind: 'input' })).toBe(0);
  });

  it('counts Slack calls per method and 429s through the wrapped fetch', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let status = 200;
    const fetch = metrics.slackFetch(async () => ({ status }));
    await fetch('https://slack.com/api/chat.postMessage');
    status = 429;
    await fetch(new URL('https://slack.com/api/chat.postMessage?x=1'));
    await fetch('https://slack.com/api/../../etc');
    expect(await value(metrics, 'ai_dev_slack_api_calls_total', { method: 'chat.postMessage' })).toBe(2);
    expect(await value(metrics, 'ai_dev_slack_api_rate_limited_total', { method: 'chat.postMessage' })).toBe(1);
    expect(await value(metrics, 'ai_dev_slack_api_calls_total', { method: 'other' })).toBe(1);
  });

  it('asks its source for queued runs at each scrape, and adds dollars', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let queued = 3;
    metrics.setQueuedSource(() => queued);
    expect(await value(metrics, 'ai_dev_runs_queued')).toBe(3);
    queued = 1;
    expect(await value(metrics, 'ai_dev_runs_queued')).toBe(1);
    metrics.addCost(0.25);
    metrics.addCost(-1);
    expect(await value(metrics, 'ai_dev_cost_dollars_total')).toBe(0.25);
  });

  it('tees events to every reporter, even when one throws', async () => {
    const seen: string[] = [];
    const tee = teeReporters(
      {
        handle: () => {
          throw new Error('broken');
        },
        flush: async () => {},
      },
      { handle: (e) => seen.push(e.type), flush: async () => {} },
    );
    tee.handle({ type: 'notice', text: 'hi' });
    await tee.flush();
    expect(seen).toEqual(['notice']);
  });
});

describe('readiness', () => {
  it('is ready only when every probe is fine, within its time', async () => {
    expect(await readiness([{ name: 'a', check: () => undefined }])).toEqual({ ready: true, checks: { a: 'ok' } });
    const report = await readiness(
      [
        { name: 'a', check: async () => undefined },
        { name: 'b', check: () => 'down' },
        { name: 'c', check: () => new Promise<undefined>(() => {}) },
        {
          name: 'd',
          check: async () => {
            throw new Error('store refused');
          },
        },
      ],
      50,
    );
    expect(report).toEqual({
      ready: false,
      checks: { a: 'ok', b: 'down', c: 'no answer within 50 ms', d: 'store refused' },
    });
  });
});

describe('start-up facts', () => {
  it('names the store without a password', () => {
    expect(describeStore('redis://:hunter2@redis.internal:6379?namespace=prod')).toBe(
      'redis://redis.internal:6379 (namespace prod)',
    );
    expect(describeStore('sqlite://data/ai-dev.sqlite')).toBe('sqlite data/ai-dev.sqlite');
  });

  it('says the network policy when there is one', () => {
    const config = {
      openai: { model: 'm', reasoningEffort: 'low' },
      sandbox: { provider: 'e2b', template: 'base' },
      storeUrl: 'sqlite://x.sqlite',
    } as unknown as Parameters<typeof startupFacts>[0];
    const { message } = startupFacts(config, { mode: 'Socket Mode', engine: 'local', network: 'github.com only' });
    expect(message).toMatch(
      /^ai-dev is running \(.+\): Socket Mode · model m \(reasoning low\) · sandbox e2b \(template base\) · network github\.com only · store sqlite x\.sqlite · engine local$/,
    );
  });
});
