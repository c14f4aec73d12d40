import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChecksSummary,
  describeFailedChecks,
  followChecks,
  type PollClock,
  readChecks,
  readJobLog,
} from '../../src/github/checks.js';
import { octokitFactory } from '../../src/github/octokit.js';
import type { RepoRef } from '../../src/github/repo-ref.js';
import { createRedactor } from '../../src/lib/redact.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';

const TOKEN = DEFAULT_FAKE_GITHUB_TOKEN;
const SECRET = 'sk-live-secret-value-0123456789';
let fake: FakeGitHub;
let repoCounter = 0;
const log = captureLogger();

beforeAll(async () => {
  fake = await startFakeGitHub();
});

afterAll(async () => {
  await fake?.close();
});

const octokitFor = (logger = log.logger) =>
  octokitFactory({ baseUrl: fake.apiUrl, logger, throttle: false, retries: 0 });
const redact = createRedactor([SECRET]);

async function newRepo(): Promise<{ repo: RepoRef; sha: string }> {
  repoCounter += 1;
  const name = `ci${repoCounter}`;
  const sha = await fake.addRepo({ owner: 'acme', name, private: true });
  return { repo: { owner: 'acme', name }, sha };
}

/** A clock that never waits: each sleep records its length, moves time on and runs the test's next step. */
function steppedClock(step: (sleepNumber: number) => void | Promise<void>) {
  let now = 1_000_000;
  const delays: number[] = [];
  const clock: PollClock = {
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      delays.push(ms);
      now += ms;
      await step(delays.length);
      if (signal?.aborted) throw signal.reason;
    },
  };
  return { clock, delays };
}

/** REST calls to a repo's checks, with their statuses (200 or 304). */
function checkReads(repo: RepoRef): number[] {
  return fake.requests
    .filter((r) => r.path.startsWith(`/repos/acme/${repo.name}/commits/`) && r.method === 'GET')
    .map((r) => r.status);
}

describe('readChecks', () => {
  it('folds check runs (every page) and the newest status of each context into one summary', async () => {
    const { repo, sha } = await newRepo();
    const test = await fake.addCheckRun('acme', repo.name, {
      sha,
      name: 'test (ubuntu)',
      conclusion: 'failure',
      output: { title: '2 tests failed' },
      actions: { log: 'x\n' },
    });
    await fake.addCheckRun('acme', repo.name, { sha, name: 'lint', conclusion: 'success', actions: true });
    await fake.addCheckRun('acme', repo.name, { sha, name: 'deploy-preview', conclusion: 'action_required' });
    await fake.addCheckRun('acme', repo.name, { sha, name: 'docs', conclusion: 'skipped', app: { slug: 'docs-ci' } });
    for (let i = 0; i < 97; i++) {
      await fake.addCheckRun('acme', repo.name, {
        sha,
        name: `shard ${String(i).padStart(3, '0')}`,
        conclusion: 'success',
      });
    }
    await fake.addStatus('acme', repo.name, { sha, state: 'pending', context: 'ci/jenkins' });
    await fake.addStatus('acme', repo.name, {
      sha,
      state: 'error',
      context: 'ci/jenkins',
      description: 'Build broke',
      targetUrl: 'https://jenkins.example/1',
    });
    await fake.addStatus('acme', repo.name, { sha, state: 'success', context: 'coverage' });

    const summary = await readChecks(octokitFor()(TOKEN), repo, sha);
    expect(summary.state).toBe('failure');
    expect(summary.checks).toHaveLength(4 + 97 + 2);
    expect(summary.pending).toEqual([]);
    expect(summary.failed).toEqual([
      {
        source: 'status',
        name: 'ci/jenkins',
        verdict: 'failed',
        conclusion: 'error',
        url: 'https://jenkins.example/1',
        title: 'Build broke',
        actionable: true,
      },
      expect.objectContaining({
        name: 'deploy-preview',
        conclusion: 'action_required',
        actionable: false,
        app: 'fake-ci',
      }),
      {
        source: 'check-run',
        name: 'test (ubuntu)',
        verdict: 'failed',
        conclusion: 'failure',
        url: test.htmlUrl,
        app: 'github-actions',
        jobId: test.id,
        title: '2 tests failed',
        actionable: true,
      },
    ]);
    expect(summary.failed.find((c) => c.name === 'deploy-preview')?.jobId).toBeUndefined();
    expect(summary.checks.find((c) => c.name === 'docs')).toMatchObject({ verdict: 'passed', conclusion: 'skipped' });
    // Two pages of check runs (100 + 1).
    const pages = fake.requests.filter((r) => r.path === `/repos/acme/${repo.name}/commits/${sha}/check-runs`);
    expect(pages.map((r) => r.query.page)).toEqual(['1', '2']);
  });

  it('says none for a commit without checks, pending while anything runs, and success when all passed', async () => {
    const { repo, sha } = await newRepo();
    const gh = octokitFor()(TOKEN);
    expect((await readChecks(gh, repo, sha)).state).toBe('none');
    const run = await fake.addCheckRun('acme', repo.name, { sha, name: 'build', status: 'in_progress', actions: true });
    const pending = await readChecks(gh, repo, sha);
    expect(pending).toMatchObject({ state: 'pending', failed: [] });
    expect(pending.pending.map((c) => [c.name, c.conclusion])).toEqual([['build', null]]);
    fake.updateCheckRun('acme', repo.name, run.id, { conclusion: 'neutral' });
    expect((await readChecks(gh, repo, sha)).state).toBe('success');
  });
});

describe('followChecks', () => {
  it('polls with ETags (unchanged pages answer 304), backs off 10 s → 2 min, and stops once the checks settle', async () => {
    const { repo, sha } = await newRepo();
    const run = await fake.addCheckRun('acme', repo.name, { sha, name: 'test', status: 'queued', actions: true });
    const { clock, delays } = steppedClock((n) => {
      if (n === 6) fake.updateCheckRun('acme', repo.name, run.id, { status: 'in_progress' });
      if (n === 8) fake.updateCheckRun('acme', repo.name, run.id, { conclusion: 'failure' });
    });
    const seen: ChecksSummary[] = [];
    const own = captureLogger();
    const end = await followChecks({
      octokit: () => octokitFor(own.logger)(TOKEN),
      repo,
      sha,
      clock,
      onChange: (summary) => seen.push(summary),
    });
    expect(end).toMatchObject({ reason: 'settled', summary: { state: 'failure' }, polls: 10 });
    // Waits double while nothing changes, drop back after a change, and confirm a settled answer once.
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 120_000, 120_000, 120_000, 120_000, 10_000]);
    // queued → in_progress is no change worth telling; the failure is.
    expect(seen.map((s) => s.pending[0]?.name ?? s.failed[0]?.conclusion)).toEqual(['test', 'failure']);
    // Every poll reads the check runs and the combined status; only the first read and changes cost a 200.
    const statuses = checkReads(repo);
    expect(statuses).toHaveLength(20);
    expect(statuses.filter((s) => s === 200)).toHaveLength(2 + 1 + 1);
    expect(statuses.filter((s) => s === 304)).toHaveLength(16);
    // Octokit's request log writes nothing at error level for a 304.
    expect(own.lines().filter((line) => line.level === 50)).toEqual([]);
  });

  it('gives up when no check appears, and when the time is up', async () => {
    const { repo, sha } = await newRepo();
    const quiet = steppedClock(() => {});
    const none = await followChecks({
      octokit: () => octokitFor()(TOKEN),
      repo,
      sha,
      clock: quiet.clock,
      timing: { noChecksAfterMs: 60_000 },
    });
    expect(none).toMatchObject({ reason: 'no-checks', summary: { state: 'none' } });
    expect(quiet.delays).toEqual([10_000, 20_000, 40_000]);

    await fake.addCheckRun('acme', repo.name, { sha, name: 'slow', status: 'in_progress' });
    const slow = steppedClock(() => {});
    const timedOut = await followChecks({
      octokit: () => octokitFor()(TOKEN),
      repo,
      sha,
      clock: slow.clock,
      timing: { maxWaitMs: 100_000 },
    });
    expect(timedOut).toMatchObject({ reason: 'timed-out', summary: { state: 'pending' } });
    expect(slow.delays).toEqual([10_000, 20_000, 40_000, 30_000]);
  });

  it('stops when told, retries transient failures, and ends on a refused credential', async () => {
    const { repo, sha } = await newRepo();
    await fake.addCheckRun('acme', repo.name, { sha, name: 'slow', status: 'in_progress' });
    const stop = new AbortController();
    const stopping = steppedClock((n) => {
      if (n === 1) fake.failNext({ pathIncludes: `/repos/acme/${repo.name}/commits/`, status: 502 });
      if (n === 3) stop.abort();
    });
    const stopped = await followChecks({
      octokit: () => octokitFor()(TOKEN),
      repo,
      sha,
      clock: stopping.clock,
      signal: stop.signal,
      logger: log.logger,
    });
    expect(stopped).toMatchObject({ reason: 'stopped', summary: { state: 'pending' }, polls: 3 });
    expect(log.lines().some((line) => line.msg === 'reading the checks failed; trying again later')).toBe(true);

    fake.addToken('ghp_short_lived_token_000', { login: 'dev', kind: 'user' });
    fake.expireToken('ghp_short_lived_token_000');
    const refused = await followChecks({
      octokit: () => octokitFor()('ghp_short_lived_token_000'),
      repo,
      sha,
      clock: steppedClock(() => {}).clock,
    });
    expect(refused).toMatchObject({ reason: 'failed', error: { code: 'github_bad_credentials' }, polls: 1 });
  });
});

describe('job logs', () => {
  const longLog = (lines: number) => {
    const out: string[] = ['2024-05-01T10:00:00.0000000Z ##[group]Run npm test'];
    for (let i = 0; i < lines; i++) out.push(`2024-05-01T10:00:01.0000000Z ok ${i} some passing test name here`);
    out.push(`2024-05-01T10:00:02.0000000Z   FAIL src/a.test.ts > adds (token ${SECRET})`);
    out.push('2024-05-01T10:00:02.1000000Z   AssertionError: expected 3 to be 4');
    out.push('2024-05-01T10:00:03.0000000Z ##[error]Process completed with exit code 1.');
    out.push('2024-05-01T10:00:04.0000000Z Post job cleanup.');
    out.push('2024-05-01T10:00:05.0000000Z Cleaning up orphan processes');
    return `${out.join('\r\n')}\r\n`;
  };

  it('streams the log through the redirect, keeps its failing end, trimmed and redacted', async () => {
    const { repo, sha } = await newRepo();
    const text = longLog(5000);
    const job = await fake.addCheckRun('acme', repo.name, {
      sha,
      name: 'test',
      conclusion: 'failure',
      actions: { log: text },
    });
    const gh = octokitFor()(TOKEN);
    const jobLog = await readJobLog(gh, repo, Number(job.jobId), { redact, maxChars: 1000, keepBytes: 16 * 1024 });
    expect(jobLog?.bytes).toBe(Buffer.byteLength(text));
    const tail = jobLog?.text ?? '';
    expect(tail.length).toBeLessThanOrEqual(1000);
    expect(tail).toMatch(/^\n… \[\d+ chars, \d+ lines left out\] …\n/);
    expect(tail).toContain('AssertionError: expected 3 to be 4');
    expect(tail.trimEnd().endsWith('##[error]Process completed with exit code 1.')).toBe(true);
    expect(tail).not.toContain('Post job cleanup');
    expect(tail).not.toContain(SECRET);
    expect(tail).toContain('[redacted]');
    expect(tail).not.toMatch(/2024-05-01T/);
    expect(tail).not.toContain('\r');

    // A short log comes back whole.
    const small = await fake.addCheckRun('acme', repo.name, {
      sha,
      name: 'lint',
      conclusion: 'failure',
      actions: { log: '2024-05-01T10:00:00.0000000Z lint: 1 problem\n' },
    });
    expect((await readJobLog(gh, repo, Number(small.jobId), { redact }))?.text).toBe('lint: 1 problem\n');
    // No log (yet), or no such job: undefined.
    const noLog = await fake.addCheckRun('acme', repo.name, { sha, name: 'queued', actions: true });
    expect(await readJobLog(gh, repo, Number(noLog.jobId), { redact })).toBeUndefined();
    expect(await readJobLog(gh, repo, 987654321, { redact })).toBeUndefined();
  });

  it('describes failed checks for the model with the tails of the failed Actions jobs', async () => {
    const { repo, sha } = await newRepo();
    const gh = octokitFor()(TOKEN);
    await fake.addCheckRun('acme', repo.name, {
      sha,
      name: 'test (ubuntu)',
      conclusion: 'failure',
      output: { title: '1 failed' },
      actions: { log: longLog(10) },
    });
    await fake.addCheckRun('acme', repo.name, {
      sha,
      name: 'e2e',
      conclusion: 'cancelled',
      actions: { log: 'cancelled\n' },
    });
    await fake.addStatus('acme', repo.name, {
      sha,
      state: 'failure',
      context: 'ci/legacy',
      targetUrl: 'https://ci.example/9',
    });
    const summary = await readChecks(gh, repo, sha);
    const report = await describeFailedChecks(gh, repo, summary, { redact });
    expect(report.logs).toHaveLength(1);
    const lines = report.text.split('\n');
    expect(lines[0]).toBe(`The checks of commit ${sha.slice(0, 12)} on GitHub failed:`);
    expect(lines[1]).toBe('- ci/legacy: failure (https://ci.example/9)');
    expect(lines[2]).toMatch(/^- e2e: cancelled \(not something a code change fixes\) \(http/);
    expect(lines[3]).toMatch(/^- test \(ubuntu\): failure — 1 failed \(http.*\/job\/\d+\)$/);
    expect(report.text).toContain('End of the log of test (ubuntu):\n##[group]Run npm test\nok 0');
    expect(report.text).toContain('AssertionError');
    expect(report.text).not.toContain(SECRET);
  });
});
