import type { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunTotals } from '../../src/agent/events.js';
import { octokitFactory } from '../../src/github/octokit.js';
import type { GitHubEvent } from '../../src/github/webhooks.js';
import { CiFollow } from '../../src/runs/ci-follow.js';
import type { RunReporter } from '../../src/runs/ports.js';
import { PrFollowing } from '../../src/runs/pr-following.js';
import { ReviewFollow } from '../../src/runs/review-follow.js';
import { FollowedPrStore } from '../../src/store/followed-prs.js';
import type { QueuedMessage, ThreadState } from '../../src/store/thread-store.js';
import { ThreadStore } from '../../src/store/thread-store.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { type PrFixture, repoWithPullRequest } from '../github/pr-fixture.js';
import { captureLogger } from '../helpers/logger.js';
import { MemoryKeyValueStore, RecordingReporter } from '../helpers/port-fakes.js';

const { logger } = captureLogger();
const emptyRunTotals: RunTotals = {
  turns: 1,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  elapsedMs: 0,
  sandboxMs: 0,
  filesChanged: [],
  commands: [],
};
let fake: FakeGitHub;
let octokit: Octokit;

beforeAll(async () => {
  fake = await startFakeGitHub();
  octokit = octokitFactory({ baseUrl: fake.apiUrl, logger, throttle: false })(DEFAULT_FAKE_GITHUB_TOKEN);
});
afterAll(async () => {
  await fake?.close();
});

function thread(threadTs: string, pr: PrFixture): ThreadState {
  return {
    channel: 'C1',
    threadTs,
    startedBy: 'U1',
    repos: [
      {
        repo: `${pr.owner}/${pr.name}`,
        baseBranch: 'main',
        branch: pr.branch,
        private: true,
        published: { localSha: pr.headSha, remoteSha: pr.headSha },
        pr: { number: pr.number, url: `${fake.serverUrl}/${pr.owner}/${pr.name}/pull/${pr.number}` },
      },
    ],
    status: 'idle',
    queued: [],
    pendingInput: [],
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };
}

/** One bot process's loops over a store that outlives it (or that several instances share). */
function boot(
  store: MemoryKeyValueStore,
  threads = new ThreadStore(store, logger),
  mode: 'webhooks' | 'poll' = 'webhooks',
) {
  const submitted: QueuedMessage[] = [];
  const submit = async (_channel: string, _threadTs: string, message: QueuedMessage) => {
    submitted.push(message);
  };
  const reporterFor = (): RunReporter => new RecordingReporter();
  const common = { threads, submit, reporterFor, githubServerUrl: fake.serverUrl, logger };
  const ci = new CiFollow({
    ...common,
    octokit: async () => octokit,
    redact: (t) => t,
    maxAttempts: 2,
    mode,
    timing: { minDelayMs: 20, maxDelayMs: 40, noChecksAfterMs: 150 },
  });
  const reviews = new ReviewFollow({
    ...common,
    octokit: async () => octokit,
    bot: async () => ({ logins: ['test-user'], mentions: ['test-user'] }),
  });
  const followed = new FollowedPrStore(store, logger);
  const following = new PrFollowing({
    followed,
    threads,
    ci,
    reviews,
    octokit: async () => octokit,
    githubServerUrl: fake.serverUrl,
    logger,
  });
  return { threads, submitted, ci, reviews, following, followed };
}

describe('PrFollowing', () => {
  it('a restart over the same store follows the PR again: a check that failed meanwhile is acted on once', async () => {
    const store = new MemoryKeyValueStore();
    const pr = await repoWithPullRequest(fake, octokit, { name: 'restart', files: { 'a.txt': 'a\n' } });
    const first = boot(store);
    await first.threads.mutate('C1', '1.0', () => thread('1.0', pr));
    await first.following.afterRun('C1', '1.0', { kind: 'no-changes', answer: 'ok', totals: emptyRunTotals });
    expect(await first.followed.list()).toEqual([
      { channel: 'C1', threadTs: '1.0', repo: 'acme/restart', pr: pr.number },
    ]);
    first.ci.stop();

    // Down: the check fails and its webhook is lost.
    await fake.addCheckRun('acme', 'restart', { sha: pr.headSha, name: 'test', conclusion: 'failure' });
    const second = boot(store);
    expect(await second.following.resume()).toBe(1);
    await expect.poll(() => second.submitted.length).toBe(1);
    expect(second.submitted[0]?.text).toMatch(/^checks failed: test — fixing, attempt 1\/2/);
    expect((await second.threads.get('C1', '1.0'))?.repos[0]?.ci).toMatchObject({ sha: pr.headSha, attempts: 1 });

    // A third start finds it acted on: nothing again.
    const third = boot(store);
    await third.following.resume();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(third.submitted).toEqual([]);
    second.ci.stop();
    third.ci.stop();
  });

  it('drops a closed PR, a merged one and one whose thread is gone; keeps the open one', async () => {
    const store = new MemoryKeyValueStore();
    const bot = boot(store);
    const open = await repoWithPullRequest(fake, octokit, { name: 'open', files: { 'a.txt': 'a\n' } });
    const closed = await repoWithPullRequest(fake, octokit, { name: 'closed', files: { 'a.txt': 'a\n' } });
    const merged = await repoWithPullRequest(fake, octokit, { name: 'merged', files: { 'a.txt': 'a\n' } });
    const orphan = await repoWithPullRequest(fake, octokit, { name: 'orphan', files: { 'a.txt': 'a\n' } });
    for (const [ts, pr] of [
      ['2.0', open],
      ['3.0', closed],
      ['4.0', merged],
    ] as const) {
      await bot.threads.mutate('C1', ts, () => thread(ts, pr));
      await bot.followed.add({ channel: 'C1', threadTs: ts, repo: `acme/${pr.name}`, pr: pr.number });
    }
    await bot.followed.add({ channel: 'C1', threadTs: '5.0', repo: 'acme/orphan', pr: orphan.number });
    fake.closePull('acme', 'closed', closed.number);
    await fake.mergePull('acme', 'merged', merged.number);

    expect(await bot.following.resume()).toBe(1);
    expect((await bot.followed.list()).map((e) => e.repo)).toEqual(['acme/open']);
    bot.ci.stop();
  });
});

describe('two bot instances following the same PR (both resumed it)', () => {
  it('take a review once between them', async () => {
    const store = new MemoryKeyValueStore();
    const pr = await repoWithPullRequest(fake, octokit, { name: 'twice', files: { 'a.txt': 'a\n' } });
    fake.setCollaborator('acme', 'twice', 'alice', 'write');
    // One ThreadStore: its lock stands for the record lock instances share on Redis.
    const one = boot(store);
    const two = boot(store, one.threads);
    await one.threads.mutate('C1', '6.0', () => thread('6.0', pr));
    await one.followed.add({ channel: 'C1', threadTs: '6.0', repo: 'acme/twice', pr: pr.number });
    await Promise.all([one.following.resume(), two.following.resume()]);
    await fake.addReview('acme', 'twice', pr.number, { user: 'alice', state: 'CHANGES_REQUESTED', body: 'Fix it.' });
    await Promise.all([one.reviews.pollAll(), two.reviews.pollAll()]);
    expect([...one.submitted, ...two.submitted]).toHaveLength(1);
    one.ci.stop();
    two.ci.stop();
  });
});

describe('two bot instances, one ran the thread (several instances on Restate)', () => {
  const ref = (name: string) => ({ owner: 'acme', name, serverUrl: fake.serverUrl });
  /** Two instances over one store; the first ran the thread `threadTs`, whose PR is in the repo `name`. */
  const ranOnOne = async (name: string, threadTs: string, mode: 'webhooks' | 'poll' = 'webhooks') => {
    const store = new MemoryKeyValueStore();
    const pr = await repoWithPullRequest(fake, octokit, { name, files: { 'a.txt': 'a\n' } });
    const ran = boot(store, undefined, mode);
    const other = boot(store, ran.threads, mode);
    await ran.threads.mutate('C1', threadTs, () => thread(threadTs, pr));
    await ran.following.afterRun('C1', threadTs, { kind: 'no-changes', answer: 'ok', totals: emptyRunTotals });
    return { pr, ran, other };
  };

  it('a check webhook reaching the other instance is acted on, once', async () => {
    const { pr, ran, other } = await ranOnOne('elsewhere', '7.0');
    await fake.addCheckRun('acme', 'elsewhere', { sha: pr.headSha, name: 'test', conclusion: 'failure' });
    const event: GitHubEvent = {
      kind: 'check-run',
      repo: ref('elsewhere'),
      sha: pr.headSha,
      checkRunId: 1,
      name: 'test',
      conclusion: 'failure',
      app: 'github-actions',
      pullRequests: [pr.number],
    };
    await other.following.onEvent(event);
    await expect.poll(() => other.submitted.length).toBe(1);
    expect(other.submitted[0]?.text).toMatch(/^checks failed: test — fixing, attempt 1\/2/);
    // GitHub sends the suite's event too, to whichever instance: nothing more.
    await ran.following.onEvent(event);
    await other.following.onEvent(event);
    expect([...ran.submitted, ...other.submitted]).toHaveLength(1);
    ran.ci.stop();
    other.ci.stop();
  });

  it('a review webhook reaching the other instance becomes the follow-up', async () => {
    const { pr, ran, other } = await ranOnOne('reviewed-elsewhere', '8.0');
    fake.setCollaborator('acme', 'reviewed-elsewhere', 'alice', 'write');
    const review = await fake.addReview('acme', 'reviewed-elsewhere', pr.number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Rename it.',
    });
    await other.following.onEvent({
      kind: 'review',
      repo: ref('reviewed-elsewhere'),
      pr: pr.number,
      headSha: pr.headSha,
      headRef: pr.branch,
      reviewId: review.id,
      user: { login: 'alice', type: 'User' },
      association: 'COLLABORATOR',
      state: 'CHANGES_REQUESTED',
      body: 'Rename it.',
    });
    expect(other.submitted).toHaveLength(1);
    expect(other.submitted[0]?.text).toContain('Rename it.');
    expect(ran.submitted).toEqual([]);
    ran.ci.stop();
    other.ci.stop();
  });

  it('what GitHub said during the run (its webhooks found nothing following the PR) is read when the run ends', async () => {
    const store = new MemoryKeyValueStore();
    const pr = await repoWithPullRequest(fake, octokit, { name: 'during', files: { 'a.txt': 'a\n' } });
    fake.setCollaborator('acme', 'during', 'alice', 'write');
    const bot = boot(store);
    await bot.threads.mutate('C1', '9.0', () => thread('9.0', pr));
    // The PR was opened mid-run; its check failed and a review came before the run ended.
    await fake.addCheckRun('acme', 'during', { sha: pr.headSha, name: 'lint', conclusion: 'failure' });
    await fake.addReview('acme', 'during', pr.number, { user: 'alice', state: 'COMMENTED', body: 'And a test.' });
    await bot.following.afterRun('C1', '9.0', { kind: 'no-changes', answer: 'ok', totals: emptyRunTotals });
    await expect.poll(() => bot.submitted.length).toBe(2);
    const texts = bot.submitted.map((m) => m.text);
    expect(texts.some((t) => t.startsWith('checks failed: lint'))).toBe(true);
    expect(texts.some((t) => t.includes('And a test.'))).toBe(true);
    bot.ci.stop();
  });

  it('token mode: the PR of an instance that died is polled by the next refresh of another one', async () => {
    const { pr, ran: died, other } = await ranOnOne('orphaned', '10.0', 'poll');
    died.ci.stop();
    await fake.addCheckRun('acme', 'orphaned', { sha: pr.headSha, name: 'test', conclusion: 'failure' });
    await other.following.refresh();
    await expect.poll(() => other.submitted.length).toBe(1);
    // Later refreshes find it acted on.
    await other.following.refresh();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(other.submitted).toHaveLength(1);
    expect(died.submitted).toEqual([]);
    other.ci.stop();
  });
});

describe('token mode: a head whose polling gave up', () => {
  it('is not polled again by the next refreshes (a repo without CI is not polled for ever)', async () => {
    const store = new MemoryKeyValueStore();
    const pr = await repoWithPullRequest(fake, octokit, { name: 'no-ci', files: { 'a.txt': 'a\n' } });
    const bot = boot(store, undefined, 'poll');
    await bot.threads.mutate('C1', '11.0', () => thread('11.0', pr));
    await bot.following.afterRun('C1', '11.0', { kind: 'no-changes', answer: 'ok', totals: emptyRunTotals });
    const reads = () =>
      fake.requests.filter((r) => r.path === `/repos/acme/no-ci/commits/${pr.headSha}/check-runs`).length;
    // No check ever appears: polling gives up after noChecksAfterMs.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const before = reads();
    expect(before).toBeGreaterThan(1);
    await bot.following.refresh();
    await bot.following.refresh();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reads()).toBe(before);
    expect(bot.submitted).toEqual([]);
    bot.ci.stop();
  });
});

describe('a thread with two PRs, one whose reviews cannot be read', () => {
  it('still reads the other PR’s reviews when the run ends', async () => {
    const store = new MemoryKeyValueStore();
    const broken = await repoWithPullRequest(fake, octokit, { name: 'unreadable', files: { 'a.txt': 'a\n' } });
    const fine = await repoWithPullRequest(fake, octokit, { name: 'readable', files: { 'b.txt': 'b\n' } });
    fake.setCollaborator('acme', 'readable', 'alice', 'write');
    await fake.addReview('acme', 'readable', fine.number, { user: 'alice', state: 'COMMENTED', body: 'Add a test.' });
    const bot = boot(store);
    const both = thread('12.0', broken);
    both.repos.push(...thread('12.0', fine).repos);
    await bot.threads.mutate('C1', '12.0', () => both);
    // Every read of the first PR is refused (404 is not retried), before the second one is read.
    fake.failNext({
      method: 'GET',
      pathIncludes: `/repos/acme/unreadable/pulls/${broken.number}`,
      status: 404,
      times: 50,
    });
    await bot.following.afterRun('C1', '12.0', { kind: 'no-changes', answer: 'ok', totals: emptyRunTotals });
    await expect.poll(() => bot.submitted.length).toBe(1);
    expect(bot.submitted[0]?.text).toContain('Add a test.');
    expect(fake.requests.some((r) => r.injected && r.path.startsWith('/repos/acme/unreadable/pulls/'))).toBe(true);
    fake.clearFailures();
    bot.ci.stop();
  });
});

describe('FollowedPrStore', () => {
  it('keeps one entry per thread and repo, a new PR number replacing the old, and skips corrupt entries', async () => {
    const store = new MemoryKeyValueStore();
    const followed = new FollowedPrStore(store, logger);
    await followed.add({ channel: 'C1', threadTs: '1.0', repo: 'acme/a', pr: 1 });
    await followed.add({ channel: 'C1', threadTs: '1.0', repo: 'ACME/a', pr: 1 });
    await followed.add({ channel: 'C1', threadTs: '2.0', repo: 'acme/a', pr: 2 });
    await followed.add({ channel: 'C1', threadTs: '1.0', repo: 'acme/a', pr: 3 });
    expect(await followed.list()).toEqual([
      { channel: 'C1', threadTs: '2.0', repo: 'acme/a', pr: 2 },
      { channel: 'C1', threadTs: '1.0', repo: 'acme/a', pr: 3 },
    ]);
    await followed.remove({ channel: 'C1', threadTs: '2.0', repo: 'acme/a' });
    store.data.set('followed-prs', [...((store.data.get('followed-prs') as unknown[]) ?? []), { pr: 'x' }]);
    expect(await followed.list()).toEqual([{ channel: 'C1', threadTs: '1.0', repo: 'acme/a', pr: 3 }]);
  });
});
