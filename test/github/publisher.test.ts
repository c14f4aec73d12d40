import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticTokenCredentials } from '../../src/github/credentials.js';
import { GitHubError } from '../../src/github/github-errors.js';
import {
  GitHubPublisher,
  PublishNeedsApproval,
  type PublishRequest,
  type PublishResult,
} from '../../src/github/publisher.js';
import { LocalSandboxProvider } from '../../src/sandbox/local-sandbox.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import type { Workspace } from '../../src/sandbox/workspace.js';
import { commitTree, readCommit, resolveRef, runGit, updateRef } from '../fakes/github/git.js';
import {
  basicAuthorization,
  DEFAULT_FAKE_GITHUB_TOKEN,
  type FakeGitHub,
  gitAuthEnv,
  startFakeGitHub,
} from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';

const TOKEN = DEFAULT_FAKE_GITHUB_TOKEN;
const OWNER = 'acme';
const BRANCH = 'ai-dev/fix-thing-abc123';
const IDENTITY = '-c user.name=ai-dev -c user.email=ai-dev@users.noreply.github.com';
// Every byte value, including sequences that are not UTF-8.
const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(4096)]);
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
/** The time the publisher dates its commits with (a clock of its own). */
const PUBLISH_DATE = '2026-12-02T10:00:00.000Z';
const BOT = { name: 'ai-dev', email: 'ai-dev@users.noreply.github.com' };

let fake: FakeGitHub;
let provider: LocalSandboxProvider;
let sandboxRoot: string;
let scratch: string;
const sandboxes: Sandbox[] = [];
let repoCounter = 0;

beforeAll(async () => {
  fake = await startFakeGitHub();
  sandboxRoot = await mkdtemp(join(tmpdir(), 'publisher-sbx-'));
  scratch = await mkdtemp(join(tmpdir(), 'publisher-host-'));
  provider = new LocalSandboxProvider(sandboxRoot);
});

afterAll(async () => {
  for (const sandbox of sandboxes) await sandbox.kill();
  await fake?.close();
  await rm(sandboxRoot, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

async function sh(sandbox: Sandbox, command: string, cwd?: string): Promise<string> {
  const result = await sandbox.exec(command, { cwd, timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`${command} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

interface Setup {
  name: string;
  sandbox: Sandbox;
  workspace: Workspace;
  publisher: GitHubPublisher;
  log: ReturnType<typeof captureLogger>;
  /** Commits everything in the sandbox's work tree, as the `commit` tool does. */
  commit(message: string, stage?: boolean): Promise<string>;
  run(command: string): Promise<string>;
  publish(extra?: Partial<PublishRequest>): Promise<PublishResult>;
}

/** A fresh repo on the fake, cloned into a fresh sandbox exactly as production does, on the thread's branch. */
async function setup(options: { redact?: (text: string) => string; token?: string } = {}): Promise<Setup> {
  repoCounter += 1;
  const name = `app${repoCounter}`;
  await fake.addRepo({
    owner: OWNER,
    name,
    private: true,
    files: {
      'README.md': '# app\n',
      'src/old.txt': 'to be deleted\n',
      'src/keep.txt': 'kept\n',
      'scripts/run.sh': '#!/bin/sh\necho hi\n',
    },
  });
  const sandbox = await provider.create({ metadata: { test: 'publisher' }, timeoutMs: 60_000 });
  sandboxes.push(sandbox);
  const root = `${sandbox.home}/repo`;
  // The token goes to this one command only, never into the sandbox's config or environment.
  await sh(
    sandbox,
    `git -c http.extraHeader="Authorization: ${basicAuthorization(TOKEN)}" clone -q ${fake.cloneUrl(OWNER, name)} ${root}`,
  );
  await sh(sandbox, `git checkout -q -b ${BRANCH}`, root);
  const workspace: Workspace = { repo: `${OWNER}/${name}`, sandbox, root, branch: BRANCH, baseBranch: 'main' };
  const log = captureLogger();
  const publisher = new GitHubPublisher({
    credentials: new StaticTokenCredentials(options.token ?? TOKEN),
    octokitFor: (auth) => new Octokit({ auth, baseUrl: fake.apiUrl, log: quiet }),
    logger: log.logger,
    now: () => new Date(PUBLISH_DATE),
    ...(options.redact ? { redact: options.redact } : {}),
  });
  const run = (command: string) => sh(sandbox, command, root);
  const state: { published?: PublishResult['published']; pr?: { number: number } } = {};
  return {
    name,
    sandbox,
    workspace,
    publisher,
    log,
    run,
    async commit(message, stage = true) {
      await sandbox.writeFiles([{ path: `${sandbox.home}/message.txt`, data: message }]);
      await run(`${stage ? 'git add -A && ' : ''}TZ=UTC git ${IDENTITY} commit -q -F ../message.txt`);
      return (await run('git rev-parse HEAD')).trim();
    },
    /** Publishes with the thread state the previous publish left, like the run loop. */
    async publish(extra = {}) {
      const result = await publisher.publish({
        workspace,
        published: state.published,
        existingPr: state.pr,
        title: 'Fix the thing',
        body: 'Does the thing.',
        ...extra,
      });
      state.published = result.published;
      state.pr = { number: result.pr.number };
      return result;
    },
  };
}

/** The first two commits: text, binary, nested new dir, a deletion, an executable bit, a symlink inside the repo. */
async function twoCommits(s: Setup): Promise<string[]> {
  await s.sandbox.writeFiles([
    { path: `${s.workspace.root}/src/keep.txt`, data: 'kept, and changed\n' },
    { path: `${s.workspace.root}/assets/logo.bin`, data: BINARY },
    { path: `${s.workspace.root}/a/b/c/deep.md`, data: 'deep\n' },
  ]);
  await s.run('git rm -q src/old.txt');
  const first = await s.commit('Add assets and a nested doc\n\nWith a body line.');
  await s.run(
    'chmod +x scripts/run.sh && ln -s ../README.md a/readme-link && printf "ünïcödé\\n" > "a/b/naïve name.txt"',
  );
  const second = await s.commit('Make run.sh executable and link the readme');
  return [first, second];
}

async function expectError(promise: Promise<unknown>, code: string): Promise<GitHubError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GitHubError);
  expect((error as GitHubError).code).toBe(code);
  return error as GitHubError;
}

/** REST requests for one repo since index `from` of `fake.requests` (tests run concurrently). */
function requestsSince(from: number, name: string, method?: 'writes') {
  return fake.requests
    .slice(from)
    .filter((r) => r.path.startsWith(`/repos/${OWNER}/${name}/`) && (method !== 'writes' || r.method !== 'GET'));
}

async function remoteTree(name: string, ref: string): Promise<string> {
  return (await runGit(['rev-parse', `${ref}^{tree}`], { gitDir: fake.repoDir(OWNER, name) })).stdout.toString().trim();
}

/** Clones the branch on the host (a plain git client) and compares every file's bytes with the sandbox. */
async function expectSameFiles(s: Setup): Promise<void> {
  const dir = await mkdtemp(join(scratch, 'clone-'));
  const clone = await runGit(['clone', '-q', '--branch', BRANCH, fake.cloneUrl(OWNER, s.name), dir], {
    env: gitAuthEnv(TOKEN),
  });
  expect(clone.code).toBe(0);
  const entries = (await s.run('git ls-files -s -z')).split('\0').filter(Boolean);
  expect(entries.length).toBeGreaterThan(4);
  for (const entry of entries) {
    const file = entry.slice(entry.indexOf('\t') + 1);
    if (entry.startsWith('160000 ')) continue; // a gitlink has no content to compare
    const local = join(s.workspace.root, file);
    const remote = join(dir, file);
    // The local provider's sandbox is a directory on this host, so its files can be inspected directly.
    const localStat = await lstat(local);
    if (entry.startsWith('120000 ')) {
      expect(localStat.isSymbolicLink()).toBe(true);
      expect(await readlink(remote)).toBe(await readlink(local));
      continue;
    }
    expect(Buffer.from(await readFile(remote)).equals(Buffer.from(await s.sandbox.readFile(local)))).toBe(true);
    expect((await stat(remote)).mode & 0o111).toBe(localStat.mode & 0o111);
  }
}

// Each test has its own repo and sandbox, so they run concurrently.
describe.concurrent('GitHubPublisher', () => {
  it('publishes two new commits with their exact trees, as the bot, and opens a PR', async () => {
    const s = await setup();
    const [first, second] = await twoCommits(s);
    const result = await s.publish({ requestedBy: 'Ada Lovelace (Slack U0ADA)' });

    expect(result.commits).toBe(2);
    expect(result.pr).toMatchObject({ number: 1, created: true, branch: BRANCH });
    expect(result.pr.url).toBe(`${fake.serverUrl}/${OWNER}/${s.name}/pull/1`);
    // Same trees; the bot is author and committer, dated when it published: GitHub's shas are its own.
    expect(result.published.localSha).toBe(second);
    expect(result.published.remoteSha).not.toBe(second);
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(result.published.remoteSha);
    const gitDir = fake.repoDir(OWNER, s.name);
    const remoteSecond = await readCommit(gitDir, result.published.remoteSha);
    const remoteFirst = await readCommit(gitDir, remoteSecond?.parents[0] ?? '');
    expect(remoteFirst?.tree).toBe((await s.run(`git rev-parse ${first}^{tree}`)).trim());
    expect(remoteSecond?.tree).toBe((await s.run(`git rev-parse ${second}^{tree}`)).trim());
    for (const commit of [remoteFirst, remoteSecond]) {
      expect(commit?.author).toMatchObject({ ...BOT });
      expect(commit?.committer).toMatchObject({ ...BOT });
    }
    expect(await fake.log(OWNER, s.name, BRANCH, 3)).toEqual([
      'Make run.sh executable and link the readme\n\nRequested-by: Ada Lovelace (Slack U0ADA)',
      'Add assets and a nested doc\n\nWith a body line.\n\nRequested-by: Ada Lovelace (Slack U0ADA)',
      'Initial commit',
    ]);
    expect(await remoteTree(s.name, BRANCH)).toBe((await s.run('git rev-parse HEAD^{tree}')).trim());
    const modes = (await runGit(['ls-tree', '-r', BRANCH], { gitDir: fake.repoDir(OWNER, s.name) })).stdout.toString();
    expect(modes).toMatch(/^100755 blob \w+\tscripts\/run\.sh$/m);
    expect(modes).toMatch(/^120000 blob \w+\ta\/readme-link$/m);
    expect(modes).not.toMatch(/src\/old\.txt/);
    expect(await fake.readFile(OWNER, s.name, BRANCH, 'a/readme-link')).toBe('../README.md');
    await expectSameFiles(s);

    const pulls = fake.pulls(OWNER, s.name);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({
      title: 'Fix the thing',
      body: 'Does the thing.',
      headRef: BRANCH,
      baseRef: 'main',
    });
    expect(pulls[0]?.draft).toBe(false);
    // Written through the REST API with the host's token; the sandbox never pushed nor kept a credential.
    expect(fake.pushes(OWNER, s.name)).toBe(0);
    expect(await s.run('cat .git/config')).not.toContain(TOKEN);
    expect(await s.run('cat .git/config')).not.toMatch(/extraHeader|Authorization/i);
    const writes = fake.requests.filter((r) => r.method !== 'GET' && r.path.startsWith(`/repos/${OWNER}/${s.name}/`));
    expect(writes.every((r) => r.authScheme === 'token')).toBe(true);
    expect(writes.find((r) => r.path.endsWith('/git/refs'))?.body).toEqual({
      ref: `refs/heads/${BRANCH}`,
      sha: result.published.remoteSha,
    });
    expect(s.log.lines().filter((line) => line.level === 40)).toEqual([]);
  });

  it('fast-forwards the same branch and updates the same PR on a second publish', async () => {
    const s = await setup();
    await twoCommits(s);
    const first = await s.publish();
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/src/keep.txt`, data: 'third version\n' }]);
    await s.run('git rm -q scripts/run.sh');
    const third = await s.commit('Third change');

    const second = await s.publish({ title: 'Fix the thing (v2)', body: 'Now also the third change.' });
    expect(second.commits).toBe(1);
    expect(second.published.localSha).toBe(third);
    expect(second.pr).toEqual({ url: first.pr.url, number: first.pr.number, created: false, branch: BRANCH });
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(second.published.remoteSha);
    expect((await readCommit(fake.repoDir(OWNER, s.name), second.published.remoteSha))?.parents).toEqual([
      first.published.remoteSha,
    ]);
    const pulls = fake.pulls(OWNER, s.name);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ state: 'open', title: 'Fix the thing (v2)', body: 'Now also the third change.' });
    const update = fake.requests.find(
      (r) => r.method === 'PATCH' && r.path === `/repos/${OWNER}/${s.name}/git/refs/heads/${BRANCH}`,
    );
    expect(update?.body).toEqual({ sha: second.published.remoteSha, force: false });
    await expectSameFiles(s);

    // Nothing new: only the PR's title and body change.
    const before = fake.requests.length;
    const again = await s.publish({ title: 'Fix the thing (v3)' });
    expect(again.commits).toBe(0);
    expect(again.published).toEqual(second.published);
    const later = requestsSince(before, s.name, 'writes');
    expect(later.map((r) => `${r.method} ${r.path}`)).toEqual([`PATCH /repos/${OWNER}/${s.name}/pulls/1`]);
  });

  it('refuses with branch_moved, overwriting nothing, when someone else pushed to the branch', async () => {
    const s = await setup();
    await twoCommits(s);
    const published = await s.publish();
    // A person pushes a commit straight onto the branch on GitHub.
    const gitDir = fake.repoDir(OWNER, s.name);
    const tip = published.published.remoteSha;
    const tree = (await readCommit(gitDir, tip))?.tree ?? '';
    const human = await commitTree(gitDir, {
      tree,
      parents: [tip],
      message: 'A human was here\n',
      author: { name: 'Human', email: 'human@example.com', date: '2024-06-01T00:00:00Z' },
    });
    expect(await updateRef(gitDir, `refs/heads/${BRANCH}`, human, tip)).toBe(true);

    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/more.txt`, data: 'more\n' }]);
    await s.commit('More work');
    const before = fake.requests.length;
    const error = await expectError(s.publish(), 'branch_moved');
    expect(error.kind).toBe('permanent');
    expect(error.userMessage).toMatch(/changed on GitHub/);
    expect(error.userMessage).toMatch(/nothing was overwritten/i);
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(human);
    expect(requestsSince(before, s.name, 'writes')).toEqual([]);
  });

  it('reopens a PR a person closed', async () => {
    const s = await setup();
    await twoCommits(s);
    const first = await s.publish();
    fake.closePull(OWNER, s.name, first.pr.number);
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/more.txt`, data: 'more\n' }]);
    await s.commit('More work');

    const result = await s.publish({ title: 'Reopened' });
    expect(result.pr).toMatchObject({ number: first.pr.number, created: false, reopened: true });
    expect(fake.pulls(OWNER, s.name)).toHaveLength(1);
    expect(fake.pulls(OWNER, s.name)[0]).toMatchObject({ state: 'open', title: 'Reopened' });
  });

  it('reports pr_merged, before writing anything, when the PR was merged', async () => {
    const s = await setup();
    await twoCommits(s);
    const first = await s.publish();
    await fake.mergePull(OWNER, s.name, first.pr.number);
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/more.txt`, data: 'more\n' }]);
    await s.commit('Follow-up');

    const before = fake.requests.length;
    const error = await expectError(s.publish(), 'pr_merged');
    expect(error.userMessage).toMatch(/merged/);
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(first.published.remoteSha);
    expect(requestsSince(before, s.name, 'writes')).toEqual([]);
  });

  it('refuses a branch outside ai-dev/ without touching GitHub', async () => {
    const s = await setup();
    await twoCommits(s);
    const before = fake.requests.length;
    for (const branch of ['main', 'feature/x', 'ai-dev/', 'ai-dev/../main', 'ai-devil/x']) {
      await expectError(
        s.publisher.publish({ workspace: { ...s.workspace, branch }, title: 't', body: 'b' }),
        'branch_not_allowed',
      );
    }
    expect(requestsSince(before, s.name)).toEqual([]);
  });

  it('says there is nothing to publish when the branch has no commits', async () => {
    const s = await setup();
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/uncommitted.txt`, data: 'x\n' }]);
    const error = await expectError(s.publish(), 'nothing_to_publish');
    expect(error.userMessage).toMatch(/commit your changes first/i);
    expect(await fake.branches(OWNER, s.name)).toEqual(['main']);
    expect(fake.pulls(OWNER, s.name)).toEqual([]);
  });

  it('surfaces a 502 on createTree as transient; publishing again succeeds without duplicates', async () => {
    const s = await setup();
    const [, second] = await twoCommits(s);
    fake.failNext({ method: 'POST', pathIncludes: `/repos/${OWNER}/${s.name}/git/trees`, status: 502 });
    const error = await expectError(s.publish(), 'github_unavailable');
    expect(error.kind).toBe('transient');
    expect(await fake.branches(OWNER, s.name)).toEqual(['main']);

    const result = await s.publish();
    expect(result.commits).toBe(2);
    expect(result.published.localSha).toBe(second);
    expect(await fake.log(OWNER, s.name, BRANCH, 10)).toHaveLength(3);
    expect(fake.pulls(OWNER, s.name)).toHaveLength(1);
    await expectSameFiles(s);
  });

  it('recovers from a crash after the branch moved: picks up its own branch and the open PR', async () => {
    const s = await setup();
    const [, second] = await twoCommits(s);
    // The first attempt creates the branch, then fails opening the PR (and its state is never saved).
    fake.failNext({ method: 'POST', pathIncludes: `/repos/${OWNER}/${s.name}/pulls`, status: 502 });
    await expectError(s.publisher.publish({ workspace: s.workspace, title: 'T', body: 'B' }), 'github_unavailable');
    const moved = await fake.refSha(OWNER, s.name, BRANCH);
    expect(moved).toBeDefined();
    expect(moved).not.toBe(second);

    // The retry's read of the ref is lost too, so it tries to create the ref and meets its own
    // first attempt as 422 "Reference already exists" — pointing at our commit, so that is success.
    fake.failNext({
      method: 'GET',
      pathIncludes: `/repos/${OWNER}/${s.name}/git/ref/heads/${BRANCH}`,
      status: 404,
      body: { message: 'Not Found' },
    });
    const result = await s.publisher.publish({ workspace: s.workspace, title: 'T', body: 'B' });
    expect(result.published).toEqual({ localSha: second, remoteSha: moved });
    expect(result.pr).toMatchObject({ number: 1, created: true });

    // Without any saved state, a third publish finds the branch (the bot's own replay of the
    // sandbox's head, same tree) and the open PR: nothing replayed again, no second PR.
    const third = await s.publisher.publish({ workspace: s.workspace, title: 'T2', body: 'B2' });
    expect(third.commits).toBe(0);
    expect(third.published).toEqual({ localSha: second, remoteSha: moved });
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(moved);
    expect(third.pr).toMatchObject({ number: 1, created: false });
    expect(fake.pulls(OWNER, s.name)).toHaveLength(1);
    expect(fake.pulls(OWNER, s.name)[0]?.title).toBe('T2');
  });

  it('refuses to push rewritten history over its own published commits', async () => {
    const s = await setup();
    await twoCommits(s);
    const first = await s.publish();
    await s.run(`TZ=UTC git ${IDENTITY} commit -q --amend -m "Amended"`);
    const error = await expectError(s.publish(), 'history_rewritten');
    expect(error.userMessage).toMatch(/never force-push/);
    expect(await fake.refSha(OWNER, s.name, BRANCH)).toBe(first.published.remoteSha);
  });

  it('publishes a merge of origin/main as a merge commit, keeping the PR diff right', async () => {
    const s = await setup();
    await twoCommits(s);
    await s.publish();
    // main moves on GitHub; the sandbox fetches it (a public-read fetch here) and merges it in.
    const gitDir = fake.repoDir(OWNER, s.name);
    const mainSha = (await resolveRef(gitDir, 'refs/heads/main')) ?? '';
    const mainTree = (await readCommit(gitDir, mainSha))?.tree ?? '';
    const blob = (await runGit(['hash-object', '-w', '--stdin'], { gitDir, input: 'from main\n' })).stdout
      .toString()
      .trim();
    const index = join(scratch, `index-${randomBytes(4).toString('hex')}`);
    await runGit(['read-tree', mainTree], { gitDir, env: { GIT_INDEX_FILE: index } });
    await runGit(['update-index', '--add', '--cacheinfo', `100644,${blob},MAIN.md`], {
      gitDir,
      env: { GIT_INDEX_FILE: index },
    });
    const tree = (await runGit(['write-tree'], { gitDir, env: { GIT_INDEX_FILE: index } })).stdout.toString().trim();
    const newMain = await commitTree(gitDir, { tree, parents: [mainSha], message: 'Main moves on\n' });
    await updateRef(gitDir, 'refs/heads/main', newMain, mainSha);
    await s.run(
      `git -c http.extraHeader="Authorization: ${basicAuthorization(TOKEN)}" fetch -q origin main && TZ=UTC git ${IDENTITY} merge -q --no-edit origin/main`,
    );
    const merge = (await s.run('git rev-parse HEAD')).trim();

    const result = await s.publish();
    expect(result.commits).toBe(1);
    expect(result.published.localSha).toBe(merge);
    expect((await readCommit(gitDir, result.published.remoteSha))?.parents[1]).toBe(newMain);
    await expectSameFiles(s);
  });

  it('builds each later publish on GitHub’s commits, then from a recreated sandbox', async () => {
    const s = await setup();
    await twoCommits(s);
    const first = await s.publish();
    expect(first.commits).toBe(2);
    expect(first.published.remoteSha).not.toBe(first.published.localSha);

    // The next publish builds on GitHub's commit, thanks to the stored mapping.
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/next.txt`, data: 'next\n' }]);
    const next = await s.commit('Next');
    const second = await s.publish();
    expect(second.published.localSha).toBe(next);
    const gitDir = fake.repoDir(OWNER, s.name);
    expect((await readCommit(gitDir, second.published.remoteSha))?.parents).toEqual([first.published.remoteSha]);
    expect(await remoteTree(s.name, BRANCH)).toBe((await s.run('git rev-parse HEAD^{tree}')).trim());
    await expectSameFiles(s);

    // The sandbox expired: a new one is cloned from the thread's branch and publishing continues.
    const fresh = await provider.create({ metadata: {}, timeoutMs: 60_000 });
    sandboxes.push(fresh);
    const root = `${fresh.home}/repo`;
    await sh(
      fresh,
      `git -c http.extraHeader="Authorization: ${basicAuthorization(TOKEN)}" clone -q --branch ${BRANCH} ${fake.cloneUrl(OWNER, s.name)} ${root}`,
    );
    await fresh.writeFiles([{ path: `${root}/after.txt`, data: 'after\n' }]);
    await sh(fresh, `git add -A && TZ=UTC git ${IDENTITY} commit -q -m "After the sandbox came back"`, root);
    const after = (await sh(fresh, 'git rev-parse HEAD', root)).trim();
    const third = await s.publisher.publish({
      workspace: { ...s.workspace, sandbox: fresh, root },
      published: second.published,
      existingPr: { number: second.pr.number },
      title: 'T',
      body: 'B',
    });
    expect(third.commits).toBe(1);
    expect(third.published.localSha).toBe(after);
    expect((await readCommit(gitDir, third.published.remoteSha))?.parents).toEqual([second.published.remoteSha]);
    expect(third.pr).toMatchObject({ number: second.pr.number, created: false });
  });

  it('refuses a merge of a branch that exists only in the sandbox, writing nothing', async () => {
    const s = await setup();
    await twoCommits(s);
    await s.run('git checkout -q -b side');
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/side.txt`, data: 'side\n' }]);
    await s.commit('Side work');
    await s.run(`git checkout -q ${BRANCH} && TZ=UTC git ${IDENTITY} merge -q --no-ff --no-edit side`);
    const before = fake.requests.length;
    const error = await expectError(s.publish(), 'merge_not_publishable');
    expect(error.userMessage).toMatch(/Rebase or squash/);
    expect(await fake.branches(OWNER, s.name)).toEqual(['main']);
    expect(requestsSince(before, s.name, 'writes').map((r) => r.path)).not.toContainEqual(
      expect.stringMatching(/git\/refs|pulls/),
    );
  });
  it('never lets a forged author, committer or date reach GitHub', async () => {
    const s = await setup();
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/forged.txt`, data: 'x\n' }]);
    await s.run(
      'git add -A && GIT_AUTHOR_NAME="Jane Maintainer" GIT_AUTHOR_EMAIL=jane@example.com GIT_AUTHOR_DATE="2019-01-01T00:00:00Z" ' +
        'GIT_COMMITTER_NAME="Jane Maintainer" GIT_COMMITTER_EMAIL=jane@example.com GIT_COMMITTER_DATE="2019-01-01T00:00:00Z" ' +
        'git commit -q -m "Looks like Jane"',
    );
    const result = await s.publish({ requestedBy: 'Ada (Slack U0ADA)' });
    const remote = await readCommit(fake.repoDir(OWNER, s.name), result.published.remoteSha);
    expect(remote?.author).toMatchObject(BOT);
    expect(remote?.committer).toMatchObject(BOT);
    expect(JSON.stringify(remote)).not.toContain('jane@example.com');
    expect(JSON.stringify(remote)).not.toMatch(/2019/);
    expect(JSON.stringify(remote)).toMatch(/2026-12-02T10:00:00|1796205600/);
    expect(remote?.message).toBe('Looks like Jane\n\nRequested-by: Ada (Slack U0ADA)\n');
  });

  it('redacts what it writes to GitHub: title, body and commit messages', async () => {
    const secret = 'sk-proj-SECRETSECRETSECRET0123456789';
    const s = await setup({ redact: (text) => text.replaceAll(secret, '[redacted]') });
    await s.sandbox.writeFiles([{ path: `${s.workspace.root}/x.txt`, data: 'x\n' }]);
    await s.commit(`Add x (key ${secret})`);
    await s.publish({ title: `Title ${secret}`, body: `Body ${secret}` });
    expect(JSON.stringify(fake.pulls(OWNER, s.name))).not.toContain(secret);
    expect((await fake.log(OWNER, s.name, BRANCH, 1))[0]).toBe('Add x (key [redacted])');
  });

  for (const [what, change, gatedPath] of [
    [
      'a workflow file',
      'mkdir -p .github/workflows && printf "on: push\\n" > .github/workflows/leak.yml && git add -A',
      '.github/workflows/leak.yml',
    ],
    [
      'a gitlink',
      'git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,vendor/evil',
      'vendor/evil',
    ],
    ['a symlink out of the repo', 'ln -s /etc/passwd passwd-link && git add -A', 'passwd-link'],
  ] as const) {
    it(`holds ${what} back until its exact content is approved, writing nothing before`, async () => {
      const s = await setup();
      await s.sandbox.writeFiles([{ path: `${s.workspace.root}/ok.txt`, data: 'fine\n' }]);
      await s.run(`git add ok.txt && ${change}`);
      await s.commit('Change something gated', false);
      const before = fake.requests.length;
      const error = (await expectError(s.publish(), 'approval_needed')) as PublishNeedsApproval;
      expect(error).toBeInstanceOf(PublishNeedsApproval);
      expect(error.changes.map((c) => c.path)).toEqual([gatedPath]);
      expect(error.endsRun).toBe(true);
      expect(requestsSince(before, s.name, 'writes')).toEqual([]);
      expect(await fake.branches(OWNER, s.name)).toEqual(['main']);

      // Another fingerprint does not open the gate; the right one does.
      await expectError(s.publish({ approved: ['0'.repeat(24)] }), 'approval_needed');
      const result = await s.publish({ approved: [error.fingerprint] });
      expect(result.commits).toBe(1);
    });
  }
  it('says which permission is missing when an approved workflow change meets a token without the workflow scope', async () => {
    const narrow = `ghp_${randomBytes(16).toString('hex')}`;
    fake.addToken(narrow, { login: 'bot', kind: 'user', scopes: ['repo'] });
    const s = await setup({ token: narrow });
    await s.run('mkdir -p .github/workflows && printf "on: push\\n" > .github/workflows/ci.yml && git add -A');
    await s.commit('Add CI', false);
    const gated = (await expectError(s.publish(), 'approval_needed')) as PublishNeedsApproval;
    const error = await expectError(s.publish({ approved: [gated.fingerprint] }), 'workflow_permission');
    expect(error.endsRun).toBe(true);
    expect(error.userMessage).toMatch(/`workflow` scope/);
    expect(error.userMessage).toMatch(/Workflows: write/);
    expect(await fake.branches(OWNER, s.name)).toEqual(['main']);
  });
});
