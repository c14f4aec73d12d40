import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEvent } from '../agent/events.js';
import type { RunReporter } from '../runs/ports.js';

/** Run durations worth telling apart: seconds to hours. */
const DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 2700, 3600, 7200];

export interface MetricsOptions {
  /** Prometheus' process and Node.js metrics (CPU, memory, handles, GC, event-loop lag). Default true. */
  defaultMetrics?: boolean;
}

/**
 * Everything the bot counts, in one Prometheus registry of its own (no global state): built by the
 * composition root and handed to where things happen. `GET /metrics` serves `text()`.
 *
 * Event-loop lag comes with the default metrics (`nodejs_eventloop_lag_seconds`, and its percentiles).
 */
export class Metrics {
  readonly registry = new Registry();
  /** Finished runs by outcome: pull-request, no-changes, stopped, budget-reached, failed, interrupted. */
  readonly runs: Counter<'outcome'>;
  readonly runDuration: Histogram<'outcome'>;
  /** From a run's start to its first tool result, by `start`: `cold` (a new sandbox) or `warm` (one reused). */
  readonly firstToolResult: Histogram<'start'>;
  /** Model tokens as the API reports them, `kind` input or output. */
  readonly modelTokens: Counter<'kind'>;
  /** Spend in US dollars; cost events add to it. */
  readonly dollars: Counter;
  /** Sandbox time the runs kept alive. */
  readonly sandboxSeconds: Counter;
  /** Every HTTP request to Slack's Web API (retries included), by API method. */
  readonly slackCalls: Counter<'method'>;
  /** Slack answers with HTTP 429 (rate limited), by API method. */
  readonly slackRateLimited: Counter<'method'>;

  /** Threads with a run going in this process (run-start seen, run-end not yet). */
  private readonly activeThreads = new Set<string>();
  private queuedSource: () => number | Promise<number> = () => 0;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.runs = new Counter({
      name: 'ai_dev_runs_total',
      help: 'Runs finished, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'ai_dev_run_duration_seconds',
      help: 'Wall time of a run, from its start to its outcome',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.firstToolResult = new Histogram({
      name: 'ai_dev_first_tool_result_seconds',
      help: 'Time from a run’s start to its first tool result, by start (cold: a new sandbox, set-up included; warm: a reused one)',
      labelNames: ['start'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.modelTokens = new Counter({
      name: 'ai_dev_model_tokens_total',
      help: 'Model tokens used, as the API reports them',
      labelNames: ['kind'],
      registers,
    });
    this.dollars = new Counter({
      name: 'ai_dev_cost_dollars_total',
      help: 'Spend on the model and sandboxes, in US dollars',
      registers,
    });
    this.sandboxSeconds = new Counter({
      name: 'ai_dev_sandbox_seconds_total',
      help: 'Sandbox time kept alive by runs',
      registers,
    });
    this.slackCalls = new Counter({
      name: 'ai_dev_slack_api_calls_total',
      help: 'HTTP requests to the Slack Web API (retries included), by method',
      labelNames: ['method'],
      registers,
    });
    this.slackRateLimited = new Counter({
      name: 'ai_dev_slack_api_rate_limited_total',
      help: 'Slack Web API answers with HTTP 429, by method',
      labelNames: ['method'],
      registers,
    });
    const active = this.activeThreads;
    new Gauge({
      name: 'ai_dev_runs_active',
      help: 'Runs going in this process',
      registers,
      collect() {
        this.set(active.size);
      },
    });
    const queued = () => this.queuedSource();
    new Gauge({
      name: 'ai_dev_runs_queued',
      help: 'Threads waiting for a run to start (the run engine says which)',
      registers,
      async collect() {
        this.set(await queued());
      },
    });
  }

  /** Runs going in this process, as the run observers saw them start and end. */
  get activeRuns(): number {
    return this.activeThreads.size;
  }

  /** How many runs wait to start; asked at every scrape (the run engine knows). */
  setQueuedSource(source: () => number | Promise<number>): void {
    this.queuedSource = async () => {
      try {
        return await source();
      } catch {
        // A store that does not answer must not break the whole scrape.
        return Number.NaN;
      }
    };
  }

  /** Adds spend (in dollars) when a cost is known. */
  addCost(dollars: number): void {
    if (Number.isFinite(dollars) && dollars > 0) this.dollars.inc(dollars);
  }

  /**
   * A `RunReporter` that counts a thread's run events: tee it beside the front end's reporter. One
   * per `reporterFor` call; the thread key ties a run-end to its run-start.
   */
  runObserver(threadKey: string, now: () => number = Date.now): RunReporter {
    let started = false;
    let startedAt = 0;
    let start: 'cold' | 'warm' | undefined;
    let firstToolSeen = false;
    let input = 0;
    let output = 0;
    const addTokens = (inputTotal: number, outputTotal: number) => {
      if (inputTotal > input) this.modelTokens.inc({ kind: 'input' }, inputTotal - input);
      if (outputTotal > output) this.modelTokens.inc({ kind: 'output' }, outputTotal - output);
      input = Math.max(input, inputTotal);
      output = Math.max(output, outputTotal);
    };
    const handle = (event: RunEvent): void => {
      switch (event.type) {
        case 'run-start':
          started = true;
          startedAt = now();
          this.activeThreads.add(threadKey);
          return;
        case 'sandbox-ready':
          start ??= event.reused ? 'warm' : 'cold';
          return;
        case 'action-end':
          if (started && !firstToolSeen && start) {
            firstToolSeen = true;
            this.firstToolResult.observe({ start }, (now() - startedAt) / 1000);
          }
          return;
        case 'usage':
          // The loop reports running totals of the run.
          addTokens(event.inputTokens, event.outputTokens);
          return;
        case 'run-end': {
          const { outcome } = event;
          const { totals } = outcome;
          if (started) addTokens(totals.inputTokens, totals.outputTokens);
          if (totals.sandboxMs > 0) this.sandboxSeconds.inc(totals.sandboxMs / 1000);
          this.runs.inc({ outcome: outcome.kind });
          if (started) this.runDuration.observe({ outcome: outcome.kind }, totals.elapsedMs / 1000);
          this.activeThreads.delete(threadKey);
          return;
        }
        default:
          return;
      }
    };
    return { handle, flush: async () => {} };
  }

  /**
   * Wraps the `fetch` the Slack WebClient uses, so every Web API request (Bolt's client, the Socket
   * Mode client's, retries included) and every 429 is counted.
   */
  slackFetch<Init>(
    inner: (url: string | URL, init?: Init) => Promise<{ status: number }>,
  ): (url: string | URL, init?: Init) => Promise<Response> {
    return async (url, init) => {
      const method = slackMethodOf(url);
      this.slackCalls.inc({ method });
      const response = await inner(url, init);
      if (response.status === 429) this.slackRateLimited.inc({ method });
      return response as Response;
    };
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** `chat.postMessage` from `https://slack.com/api/chat.postMessage`. */
function slackMethodOf(url: string | URL): string {
  const path = (typeof url === 'string' ? url : url.href).split('?')[0] ?? '';
  const method = path.slice(path.lastIndexOf('/') + 1);
  // A label per unknown path would let anything grow the series without bound.
  return /^[a-zA-Z]+(\.[a-zA-Z]+)+$/.test(method) ? method : 'other';
}

/** Hands every event to each reporter; one failing reporter does not keep the others from an event. */
export function teeReporters(...reporters: RunReporter[]): RunReporter {
  return {
    handle: (event) => {
      for (const reporter of reporters) {
        try {
          reporter.handle(event);
        } catch {
          // The reporter logs its own failures; the others still get the event.
        }
      }
    },
    flush: async () => {
      await Promise.all(reporters.map((r) => r.flush()));
    },
  };
}
