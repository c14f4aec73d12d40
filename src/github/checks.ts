import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Octokit } from '@octokit/rest';
import { isAbort, isTransient } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { trimOutput } from '../lib/trim-output.js';
import { type GitHubError, githubRequest, isHttpError, toGitHubError } from './github-errors.js';
import { fullName, type RepoRef } from './repo-ref.js';

/**
 * The checks of one commit: GitHub's check runs (Actions jobs and other Apps' checks) and the older
 * commit statuses (contexts set by Jenkins, CircleCI's status integration, …), folded into one verdict.
 *
 * Check suites are not read: GitHub creates a suite for every App that may run checks on a push, and a
 * suite whose App never adds a run stays `queued`, so "a suite is open" says nothing. Check runs are read
 * with GitHub's default `filter=latest` (the newest run per name, so a re-run replaces its failure).
 */

/** How one check stands. */
export type CheckVerdict = 'pending' | 'passed' | 'failed';

export interface CheckResult {
  source: 'check-run' | 'status';
  /** The check run's name, or the status's context. */
  name: string;
  verdict: CheckVerdict;
  /** The check run's conclusion (`failure`, `timed_out`, …) or the status's state (`failure`, `error`); null while pending. */
  conclusion: string | null;
  /** Where a person sees it: the check run's page or details URL, the status's target URL. */
  url: string | undefined;
  /** The check run's App, e.g. `github-actions`. */
  app?: string;
  /** A GitHub Actions job (its check run's id is the job's id): its log can be read with `readJobLog`. */
  jobId?: number;
  /** The check run's output title or the status's description. */
  title?: string;
  /**
   * A failure a code change may fix (`failure`, `timed_out`, `startup_failure`, a status `failure`/`error`);
   * `cancelled`, `action_required` (a person must approve the workflow) and `stale` are not.
   */
  actionable: boolean;
}

export type ChecksState = 'none' | 'pending' | 'success' | 'failure';

export interface ChecksSummary {
  sha: string;
  /**
   * `none`: no check run and no status yet; `pending`: something still runs (failures may already be
   * known, see `failed`); `failure`: all completed and at least one failed; `success`: all completed, none failed.
   */
  state: ChecksState;
  /** Every check, sorted by name. */
  checks: CheckResult[];
  failed: CheckResult[];
  pending: CheckResult[];
}

const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);
const ACTIONABLE_CONCLUSIONS = new Set(['failure', 'timed_out', 'startup_failure']);
const ACTIONS_APP = 'github-actions';
const PER_PAGE = 100;
/** More pages than this (10 000 check runs on one commit) are not read. */
const MAX_PAGES = 100;

interface CheckRunJson {
  id: number;
  name: string;
  status: string;
  conclusion: string | null;
  html_url?: string | null;
  details_url?: string | null;
  app?: { slug?: string } | null;
  output?: { title?: string | null } | null;
}

interface StatusJson {
  context: string;
  state: string;
  target_url?: string | null;
  description?: string | null;
}

/** The job id of an Actions check run: its own id, which its URL (`…/actions/runs/<run>/job/<job>`) repeats. */
function actionsJobId(run: CheckRunJson): number | undefined {
  if (run.app?.slug !== ACTIONS_APP) return undefined;
  for (const url of [run.details_url, run.html_url]) {
    const match = url ? /\/actions\/runs\/\d+\/job\/(\d+)/.exec(url) : null;
    if (match?.[1]) return Number(match[1]);
  }
  return run.id;
}

export function checkRunResult(run: CheckRunJson): CheckResult {
  const completed = run.status === 'completed';
  const conclusion = completed ? (run.conclusion ?? 'unknown') : null;
  const verdict: CheckVerdict = !completed
    ? 'pending'
    : PASSING_CONCLUSIONS.has(conclusion ?? '')
      ? 'passed'
      : 'failed';
  const result: CheckResult = {
    source: 'check-run',
    name: run.name,
    verdict,
    conclusion,
    url: run.html_url ?? run.details_url ?? undefined,
    actionable: verdict === 'failed' && ACTIONABLE_CONCLUSIONS.has(conclusion ?? ''),
  };
  if (run.app?.slug) result.app = run.app.slug;
  const jobId = actionsJobId(run);
  if (jobId !== undefined) result.jobId = jobId;
  if (run.output?.title) result.title = run.output.title;
  return result;
}

export function statusResult(status: StatusJson): CheckResult {
  const verdict: CheckVerdict =
    status.state === 'success' ? 'passed' : status.state === 'pending' ? 'pending' : 'failed';
  const result: CheckResult = {
    source: 'status',
    name: status.context,
    verdict,
    conclusion: verdict === 'pending' ? null : status.state,
    url: status.target_url ?? undefined,
    actionable: verdict === 'failed',
  };
  if (status.description) result.title = status.description;
  return result;
}

/** Folds check results into one summary (pure). */
export function summarizeChecks(sha: string, checks: CheckResult[]): ChecksSummary {
  const sorted = [...checks].sort((a, b) => a.name.localeCompare(b.name) || a.source.localeCompare(b.source));
  const failed = sorted.filter((check) => check.verdict === 'failed');
  const pending = sorted.filter((check) => check.verdict === 'pending');
  const state: ChecksState =
    sorted.length === 0 ? 'none' : pending.length > 0 ? 'pending' : failed.length > 0 ? 'failure' : 'success';
  return { sha, state, checks: sorted, failed, pending };
}

/** The failed checks' names, e.g. `test (ubuntu), lint`, for "checks failed: … — fixing, attempt 1/2". */
export function failedCheckNames(summary: ChecksSummary): string {
  return summary.failed.map((check) => check.name).join(', ');
}

interface CachedPage {
  etag: string;
  data: unknown;
}

/** Marks the 204 that stands for a 304 (see `passNotModified`). */
const NOT_MODIFIED_HEADER = 'x-ai-dev-not-modified';

/**
 * Octokit throws on a 304, and its request-log plugin logs every thrown response at error level: a poll
 * that found nothing new would write an error line. This fetch hands a 304 on as a bodiless 204 marked
 * with a header, which Octokit returns like any success (it never parses a 204's body).
 */
const passNotModified: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  if (response.status !== 304) return response;
  const headers = new Headers(response.headers);
  headers.set(NOT_MODIFIED_HEADER, '1');
  return new Response(null, { status: 204, statusText: 'Not Modified', headers });
};

/**
 * GETs with `If-None-Match`: a page that did not change answers 304, which GitHub does not count
 * against the rate limit ("Use conditional requests if appropriate", GitHub's REST best practices),
 * and the page kept from before is used. ETags are per token, so a new App installation token simply
 * starts with 200s again.
 */
class ConditionalReader {
  private readonly pages = new Map<string, CachedPage>();

  async get(octokit: Octokit, route: string, params: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
    const key = `${route} ${JSON.stringify(params)}`;
    const cached = this.pages.get(key);
    const response = await octokit.request(route, {
      ...params,
      headers: cached ? { 'if-none-match': cached.etag } : {},
      request: { fetch: passNotModified, ...(signal ? { signal } : {}) },
    });
    if (response.headers[NOT_MODIFIED_HEADER] === '1') {
      if (cached) return cached.data;
      throw new Error(`GitHub answered 304 to ${route} without a conditional request`);
    }
    const etag = response.headers.etag;
    if (typeof etag === 'string') this.pages.set(key, { etag, data: response.data });
    else this.pages.delete(key);
    return response.data;
  }

  /** Every page of a `{total_count, <key>: []}` listing. */
  async all<T>(
    octokit: Octokit,
    route: string,
    params: Record<string, unknown>,
    key: string,
    signal?: AbortSignal,
  ): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const data = (await this.get(octokit, route, { ...params, per_page: PER_PAGE, page }, signal)) as Record<
        string,
        unknown
      >;
      const list = Array.isArray(data[key]) ? (data[key] as T[]) : [];
      items.push(...list);
      const total = typeof data.total_count === 'number' ? data.total_count : 0;
      if (list.length < PER_PAGE || page * PER_PAGE >= total) break;
    }
    return items;
  }
}

export interface ReadChecksOptions {
  signal?: AbortSignal;
}

/** The checks of `sha` now, every page of check runs and of the combined status. */
export async function readChecks(
  octokit: Octokit,
  repo: RepoRef,
  sha: string,
  options: ReadChecksOptions = {},
): Promise<ChecksSummary> {
  return readWith(new ConditionalReader(), octokit, repo, sha, options.signal);
}

async function readWith(
  reader: ConditionalReader,
  octokit: Octokit,
  repo: RepoRef,
  sha: string,
  signal: AbortSignal | undefined,
): Promise<ChecksSummary> {
  const target = { owner: repo.owner, repo: repo.name, ref: sha };
  const [runs, statuses] = await githubRequest(
    `read the checks of ${sha.slice(0, 12)} in ${fullName(repo)}`,
    () =>
      Promise.all([
        reader.all<CheckRunJson>(
          octokit,
          'GET /repos/{owner}/{repo}/commits/{ref}/check-runs',
          target,
          'check_runs',
          signal,
        ),
        // The combined status holds the newest status of each context.
        reader.all<StatusJson>(octokit, 'GET /repos/{owner}/{repo}/commits/{ref}/status', target, 'statuses', signal),
      ]),
    { signal },
  );
  return summarizeChecks(sha, [...runs.map(checkRunResult), ...statuses.map(statusResult)]);
}

// ---- following one head until its checks settle (token mode) --------------------------------------

/** Time, injectable so tests never wait. */
export interface PollClock {
  now(): number;
  /** Resolves after `ms`; rejects (any error) when the signal fires. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: PollClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, signal ? { signal } : undefined),
};

export interface FollowTiming {
  /** The first wait between polls, and the wait after a poll that saw a change. Default 10 s. */
  minDelayMs: number;
  /** Waits double while nothing changes, up to this. Default 2 min. */
  maxDelayMs: number;
  /** Give up when no check has appeared after this long (the repo has no CI). Default 10 min. */
  noChecksAfterMs: number;
  /** Give up following after this long however the checks stand. Default 3 h. */
  maxWaitMs: number;
}

export const DEFAULT_FOLLOW_TIMING: FollowTiming = {
  minDelayMs: 10_000,
  maxDelayMs: 120_000,
  noChecksAfterMs: 10 * 60_000,
  maxWaitMs: 3 * 3600_000,
};

export interface FollowChecksOptions {
  /** A client for each poll (an App installation token lasts an hour); token mode may hand out the same one. */
  octokit: () => Octokit | Promise<Octokit>;
  repo: RepoRef;
  sha: string;
  /** Stop following (a new push, the thread stopped, shutdown): resolves with `stopped`. */
  signal?: AbortSignal;
  /** Told each summary that differs from the one before (the first one always). */
  onChange?: (summary: ChecksSummary) => void;
  /** When to stop; default: nothing pending any more (`success` or `failure`). */
  until?: (summary: ChecksSummary) => boolean;
  timing?: Partial<FollowTiming>;
  clock?: PollClock;
  logger?: Logger;
}

export type FollowEnd =
  /** `until` held (by default: every check completed). */
  | { reason: 'settled'; summary: ChecksSummary; polls: number }
  /** No check run or status appeared within `noChecksAfterMs`. */
  | { reason: 'no-checks'; summary: ChecksSummary; polls: number }
  /** `maxWaitMs` passed first; `summary` is the last one read, if any. */
  | { reason: 'timed-out'; summary: ChecksSummary | undefined; polls: number }
  | { reason: 'stopped'; summary: ChecksSummary | undefined; polls: number }
  /** GitHub refused for good (bad credential, repo or commit gone); transient failures are retried. */
  | { reason: 'failed'; error: GitHubError; summary: ChecksSummary | undefined; polls: number };

const settled = (summary: ChecksSummary) => summary.state === 'success' || summary.state === 'failure';

/**
 * Polls the checks of one commit until they settle, with conditional requests (an unchanged page
 * answers 304 and costs no rate limit) and a wait that doubles while nothing changes (10 s → 2 min) and
 * drops back after a change. For token mode; with a GitHub App the webhooks say the same without polling.
 * Never rejects: how it ended is the result.
 */
export async function followChecks(options: FollowChecksOptions): Promise<FollowEnd> {
  const timing = { ...DEFAULT_FOLLOW_TIMING, ...options.timing };
  const clock = options.clock ?? systemClock;
  const until = options.until ?? settled;
  const { repo, sha, signal, logger } = options;
  const reader = new ConditionalReader();
  const started = clock.now();
  let delay = timing.minDelayMs;
  let last: ChecksSummary | undefined;
  let lastKey = '';
  let polls = 0;
  const stopped = () => ({ reason: 'stopped' as const, summary: last, polls });

  for (;;) {
    if (signal?.aborted) return stopped();
    let changed = false;
    try {
      polls += 1;
      const summary = await readWith(reader, await options.octokit(), repo, sha, signal);
      const key = JSON.stringify(summary);
      changed = key !== lastKey;
      last = summary;
      lastKey = key;
      if (changed) options.onChange?.(summary);
      // Settled twice in a row: a workflow that starts late (its check runs not created yet when a fast
      // one finished) gets one more poll to show up. The second read is usually a free 304.
      if (!changed && summary.state !== 'none' && until(summary)) return { reason: 'settled', summary, polls };
    } catch (error) {
      if (isAbort(error, signal)) return stopped();
      const failure = toGitHubError(error, `read the checks of ${sha.slice(0, 12)}`);
      if (!isTransient(failure)) return { reason: 'failed', error: failure, summary: last, polls };
      logger?.warn({ err: failure, repo: fullName(repo), sha }, 'reading the checks failed; trying again later');
    }
    const elapsed = clock.now() - started;
    if (last?.state === 'none' && elapsed >= timing.noChecksAfterMs)
      return { reason: 'no-checks', summary: last, polls };
    if (elapsed >= timing.maxWaitMs) return { reason: 'timed-out', summary: last, polls };
    const settling = last !== undefined && last.state !== 'none' && until(last);
    delay = changed || settling ? timing.minDelayMs : Math.min(delay * 2, timing.maxDelayMs);
    try {
      await clock.sleep(Math.min(delay, timing.maxWaitMs - elapsed), signal);
    } catch (error) {
      if (signal?.aborted) return stopped();
      throw error;
    }
  }
}

// ---- job logs ----------------------------------------------------------------------------------

export interface JobLogOptions {
  /** Applied to the log before anything of it leaves this function (known secrets, token shapes). */
  redact: (text: string) => string;
  /** Characters of the trimmed tail. Default 12 000. */
  maxChars?: number;
  /** Bytes kept from the end of the download (the rest streams past and is counted). Default 1 MiB. */
  keepBytes?: number;
  signal?: AbortSignal;
}

export interface JobLog {
  jobId: number;
  /** The end of the log, timestamps taken off, cut after the last `##[error]` line, trimmed and redacted. */
  text: string;
  /** Size of the whole download. */
  bytes: number;
}

const DEFAULT_LOG_CHARS = 12_000;
const DEFAULT_KEEP_BYTES = 1024 * 1024;
/** Actions prefixes every log line with an ISO timestamp (7 fractional digits). */
const TIMESTAMP_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?/gm;

/**
 * The failing end of a GitHub Actions job's log (`GET …/actions/jobs/{id}/logs`, which redirects to a
 * short-lived download URL that Octokit follows). The download is streamed and only its last
 * `keepBytes` are kept; the post-job clean-up after the last `##[error]` line is left out, so what is
 * left ends where the job failed. Undefined when GitHub has no log (not written yet, expired, or not
 * an Actions job).
 */
export async function readJobLog(
  octokit: Octokit,
  repo: RepoRef,
  jobId: number,
  options: JobLogOptions,
): Promise<JobLog | undefined> {
  const { signal } = options;
  const keepBytes = Math.max(1024, options.keepBytes ?? DEFAULT_KEEP_BYTES);
  const download = await githubRequest(
    `download the log of job ${jobId} in ${fullName(repo)}`,
    async () => {
      try {
        const response = await octokit.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', {
          owner: repo.owner,
          repo: repo.name,
          job_id: jobId,
          request: { parseSuccessResponseBody: false, ...(signal ? { signal } : {}) },
        });
        return await tailOfBody(response.data as unknown, keepBytes);
      } catch (error) {
        // Logs past their retention answer 410 Gone.
        if (isHttpError(error) && error.status === 410) return undefined;
        throw error;
      }
    },
    { signal, notFound: () => undefined },
  );
  if (!download) return undefined;
  const { tail, bytes, cut } = download;
  let text = tail.replace(/\r\n?/g, '\n').replace(TIMESTAMP_RE, '');
  if (cut) text = text.slice(text.indexOf('\n') + 1); // the first line is partial
  text = endAtLastError(text);
  text = options.redact(text);
  const maxChars = Math.max(200, options.maxChars ?? DEFAULT_LOG_CHARS);
  const trimmed = trimOutput(text, maxChars, { headShare: 0 });
  return { jobId, text: cut && trimmed === text ? `… (earlier lines left out)\n${trimmed}` : trimmed, bytes };
}

/** Cuts what follows the last `##[error]` line (post-job clean-up), unless that would leave almost nothing. */
function endAtLastError(text: string): string {
  const at = text.lastIndexOf('##[error]');
  if (at < 0) return text;
  const end = text.indexOf('\n', at);
  return end < 0 ? text : text.slice(0, end + 1);
}

async function tailOfBody(
  body: unknown,
  keepBytes: number,
): Promise<{ tail: string; bytes: number; cut: boolean } | undefined> {
  if (typeof body === 'string') return tailOfBuffer(Buffer.from(body), keepBytes);
  if (body === null || body === undefined) return { tail: '', bytes: 0, cut: false };
  if (!isAsyncIterable(body)) throw new Error('the log download is not a stream');
  const chunks: Buffer[] = [];
  let kept = 0;
  let bytes = 0;
  for await (const chunk of body) {
    const buffer = Buffer.from(chunk as Uint8Array);
    bytes += buffer.length;
    chunks.push(buffer);
    kept += buffer.length;
    while (chunks.length > 1 && kept - (chunks[0]?.length ?? 0) >= keepBytes) kept -= chunks.shift()?.length ?? 0;
  }
  const all = Buffer.concat(chunks);
  const result = tailOfBuffer(all, keepBytes);
  return { ...result, bytes, cut: result.cut || bytes > all.length };
}

function tailOfBuffer(buffer: Buffer, keepBytes: number): { tail: string; bytes: number; cut: boolean } {
  if (buffer.length <= keepBytes) return { tail: buffer.toString('utf8'), bytes: buffer.length, cut: false };
  let start = buffer.length - keepBytes;
  // Start on a whole UTF-8 character.
  while (start < buffer.length && ((buffer[start] ?? 0) & 0xc0) === 0x80) start++;
  return { tail: buffer.subarray(start).toString('utf8'), bytes: buffer.length, cut: true };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

// ---- what a failed check becomes for the model ------------------------------------------------

export interface FailureReportOptions {
  redact: (text: string) => string;
  /** Logs read for at most this many failed Actions jobs. Default 3. */
  maxLogs?: number;
  /** Characters of all logs together. Default 12 000. */
  maxLogChars?: number;
  signal?: AbortSignal;
}

export interface FailureReport {
  /** Plain text for the model: what failed, where, and the end of each failing job's log. */
  text: string;
  /** Each log read. */
  logs: JobLog[];
}

/**
 * What the model gets when the checks of a published head failed: each failed check (name,
 * conclusion, title, URL) and the log tails of up to `maxLogs` failed Actions jobs. Checks of other
 * CI systems have no log here; their title and URL are all GitHub knows.
 */
export async function describeFailedChecks(
  octokit: Octokit,
  repo: RepoRef,
  summary: ChecksSummary,
  options: FailureReportOptions,
): Promise<FailureReport> {
  const { redact, signal } = options;
  const maxLogs = options.maxLogs ?? 3;
  const withLogs = summary.failed.filter((check) => check.actionable && check.jobId !== undefined).slice(0, maxLogs);
  const perLog = Math.floor((options.maxLogChars ?? DEFAULT_LOG_CHARS) / Math.max(1, withLogs.length));
  const logs: JobLog[] = [];
  for (const check of withLogs) {
    const log = await readJobLog(octokit, repo, check.jobId ?? 0, { redact, maxChars: perLog, signal });
    if (log) logs.push(log);
  }
  const lines = [`The checks of commit ${summary.sha.slice(0, 12)} on GitHub failed:`];
  for (const check of summary.failed) {
    const parts = [`- ${check.name}: ${check.conclusion ?? 'failed'}`];
    if (check.title) parts.push(` — ${check.title}`);
    if (!check.actionable) parts.push(' (not something a code change fixes)');
    if (check.url) parts.push(` (${check.url})`);
    lines.push(redact(parts.join('')));
  }
  if (summary.pending.length > 0) {
    lines.push(`Still running: ${summary.pending.map((check) => check.name).join(', ')}.`);
  }
  for (const log of logs) {
    const check = withLogs.find((candidate) => candidate.jobId === log.jobId);
    lines.push('', `End of the log of ${check?.name ?? `job ${log.jobId}`}:`, log.text.trimEnd());
  }
  return { text: lines.join('\n'), logs };
}
