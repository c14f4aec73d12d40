import { describe, expect, it } from 'vitest';
import type { CostTotals } from '../../src/agent/cost.js';
import { prFooter } from '../../src/runs/publishing.js';

const cost = (sandboxDollars: number): CostTotals => ({
  dollars: 0.5 + sandboxDollars,
  modelDollars: 0.5,
  sandboxDollars,
  requests: 3,
  inputTokens: 1,
  cachedInputTokens: 0,
  outputTokens: 1,
  longContextRequests: 0,
  sandboxSeconds: sandboxDollars > 0 ? 60 : 0,
});

describe('the PR footer', () => {
  it('names the requester, the thread and the cost so far, the sandbox’s part included once there is one', () => {
    const info = { permalink: 'https://slack.example/p1', requesterName: 'Ada' };
    const withSandbox = prFooter(info, 'U1', [], cost(0.25));
    expect(withSandbox).toContain('Requested in Slack by Ada (Slack U1) — [thread](https://slack.example/p1)');
    expect(withSandbox).toContain('Cost of this run so far: $0.75 (model $0.50 over 3 requests, sandbox $0.25).');
    expect(prFooter(info, 'U1', [], cost(0))).toContain(
      'Cost of this run so far: $0.50 (model $0.50 over 3 requests).',
    );
  });
});
