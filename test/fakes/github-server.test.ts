import { spawn } from 'node:child_process';
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  DEFAULT_FAKE_GITHUB_TOKEN,
  deliverWebhook,
  type FakeGitHub,
  gitAuthEnv,
  startFakeGitHub,
  webhookSignature256,
} from './github-server.js';

const TOKEN = DEFAULT_FAKE_GITHUB_TOKEN;
const SCOPED_TOKEN = 'ghp_scoped_to_lib_only';
/** Classic personal access tokens: one without and one with the `workflow` scope. */
const CLASSIC_TOKEN = 'ghp_classic_repo_scope';
const WORKFLOW_TOKEN = 'ghp_classic_repo_and_workflow_scopes';
const APP_ID = 4242;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

let fake: FakeGitHub;
let work: string;

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real git with a clean environment (no inherited GIT_*, no global/system config). */
function git(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<GitRun> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // GIT_TERMINAL_PROMPT=0 does not stop an askpass program, so drop those too.
    if (!key.startsWith('GIT_') && key !== 'SSH_ASKPASS') env[key] = value;
  }
  Object.assign(env, gitAuthEnv(), options.env);
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

// Octokit's request-log plugin prints every failed request; the failures here are on purpose.
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const octokit = (auth: string) => new Octokit({ auth, baseUrl: fake.apiUrl, log: quiet });

/** The shape of Octokit's `RequestError` (name `HttpError`) that these tests look at. */
interface HttpFailure {
  name: string;
  status: number;
  response?: { data: unknown; headers: Record<string, unknown> };
}

async function errorOf(promise: Promise<unknown>): Promise<HttpFailure> {
  try {
    await promise;
  } catch (error) {
    return error as HttpFailure;
  }
  throw new Error('expected the request to fail');
}

/** Branch `branch` off `main` with `files` in one commit, through the Git Data API. */
async function commitBranch(owner: string, repo: string, branch: string, files: Record<string, string>) {
  const gh = octokit(TOKEN);
  const base = (await gh.rest.git.getRef({ owner, repo, ref: 'heads/main' })).data.object.sha;
  const baseTree = (await gh.rest.git.getCommit({ owner, repo, commit_sha: base })).data.tree.sha;
  const tree = await gh.rest.git.createTree({
    owner,
    repo,
    base_tree: baseTree,
    tree: Object.entries(files).map(([path, content]) => ({
      path,
      mode: '100644' as const,
      type: 'blob' as const,
      content,
    })),
  });
  const commit = await gh.rest.git.createCommit({
    owner,
    repo,
    message: `Add ${branch}`,
    tree: tree.data.sha,
    parents: [base],
  });
  await gh.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: commit.data.sha });
  return commit.data.sha;
}

function appJwt(key: KeyObject, iss: number | string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const data = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: now - 60, exp: now + 540, iss })}`;
  return `${data}.${sign('sha256', Buffer.from(data), key).toString('base64url')}`;
}

beforeAll(async () => {
  fake = await startFakeGitHub({
    tokens: {
      [TOKEN]: { login: 'dev', kind: 'user' },
      [SCOPED_TOKEN]: { login: 'scoped', kind: 'user', repos: ['acme/lib'] },
      [CLASSIC_TOKEN]: { login: 'classic', kind: 'user', scopes: ['repo', 'read:org'], name: 'Classic Dev' },
      [WORKFLOW_TOKEN]: { login: 'ops', kind: 'user', scopes: ['repo', 'workflow'] },
    },
    app: { id: APP_ID, slug: 'ai-dev', publicKey },
  });
  work = await mkdtemp(join(tmpdir(), 'fake-github-test-'));
  await fake.addRepo({
    owner: 'acme',
    name: 'app',
    private: true,
    files: { 'README.md': '# app\n', 'old.txt': 'remove me\n', 'src/keep.ts': 'export const keep = 1;\n' },
  });
  await fake.addRepo({ owner: 'acme', name: 'lib', files: { 'lib.ts': 'export {};\n' } });
  await fake.addRepo({ owner: 'acme', name: 'frozen', private: true, pushAllowed: false });
});

afterAll(async () => {
  await fake?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(() => fake.clearFailures());

describe('REST repos', () => {
  it('answers repos.get for a good token, 401 for a bad one, 404 for a repo the token cannot see', async () => {
    const { data } = await octokit(TOKEN).rest.repos.get({ owner: 'acme', repo: 'app' });
    expect(data).toMatchObject({
      name: 'app',
      full_name: 'acme/app',
      owner: { login: 'acme' },
      private: true,
      default_branch: 'main',
      archived: false,
      clone_url: `${fake.serverUrl}/acme/app.git`,
      permissions: { push: true, pull: true },
    });
    const frozen = await octokit(TOKEN).rest.repos.get({ owner: 'acme', repo: 'frozen' });
    expect(frozen.data.permissions?.push).toBe(false);

    const bad = await errorOf(octokit('ghp_wrong').rest.repos.get({ owner: 'acme', repo: 'app' }));
    expect(bad).toMatchObject({ name: 'HttpError', status: 401 });
    expect(bad.response?.data).toMatchObject({ message: 'Bad credentials' });

    const hidden = await errorOf(octokit(SCOPED_TOKEN).rest.repos.get({ owner: 'acme', repo: 'app' }));
    expect(hidden.status).toBe(404);
    expect(hidden.response?.data).toMatchObject({ message: 'Not Found' });
    expect((await octokit(SCOPED_TOKEN).rest.repos.get({ owner: 'acme', repo: 'lib' })).data.full_name).toBe(
      'acme/lib',
    );

    const last = fake.requests.at(-1);
    expect(last).toMatchObject({
      method: 'GET',
      path: '/repos/acme/lib',
      authPresent: true,
      login: 'scoped',
      status: 200,
    });
    expect(JSON.stringify(fake.requests)).not.toContain(SCOPED_TOKEN);
  });

  it('refuses ref writes when the repo does not allow pushing', async () => {
    const gh = octokit(TOKEN);
    const head = (await gh.rest.git.getRef({ owner: 'acme', repo: 'frozen', ref: 'heads/main' })).data.object.sha;
    const error = await errorOf(
      gh.rest.git.createRef({ owner: 'acme', repo: 'frozen', ref: 'refs/heads/x', sha: head }),
    );
    expect(error.status).toBe(403);
    expect(fake.requests.at(-1)?.body).toEqual({ ref: 'refs/heads/x', sha: head });
  });
});

describe('Git Data API and git over HTTP', () => {
  it('builds a commit through the API that git clone then sees', async () => {
    const gh = octokit(TOKEN);
    const repo = { owner: 'acme', repo: 'app' };
    const ref = await gh.rest.git.getRef({ ...repo, ref: 'heads/main' });
    const baseSha = ref.data.object.sha;
    expect(ref.data.ref).toBe('refs/heads/main');
    const baseCommit = await gh.rest.git.getCommit({ ...repo, commit_sha: baseSha });
    expect(baseCommit.data.message).toBe('Initial commit');

    const text = await gh.rest.git.createBlob({ ...repo, content: 'export const b = 2;\n', encoding: 'utf-8' });
    const binary = await gh.rest.git.createBlob({ ...repo, content: BINARY.toString('base64'), encoding: 'base64' });
    expect(text.status).toBe(201);
    const tree = await gh.rest.git.createTree({
      ...repo,
      base_tree: baseCommit.data.tree.sha,
      tree: [
        { path: 'src/a/b.ts', mode: '100644', type: 'blob', sha: text.data.sha },
        { path: 'assets/data.bin', mode: '100644', type: 'blob', sha: binary.data.sha },
        { path: 'run.sh', mode: '100755', type: 'blob', content: '#!/bin/sh\necho hi\n' },
        { path: 'old.txt', mode: '100644', type: 'blob', sha: null },
      ],
    });
    expect(tree.status).toBe(201);
    const commit = await gh.rest.git.createCommit({
      ...repo,
      message: 'T1: add b\n\nBody line.',
      tree: tree.data.sha,
      parents: [baseSha],
      author: { name: 'AI Dev', email: 'ai-dev@example.com', date: '2025-02-03T04:05:06Z' },
    });
    expect(commit.data).toMatchObject({ parents: [{ sha: baseSha }], tree: { sha: tree.data.sha } });
    expect(commit.data.author).toMatchObject({ name: 'AI Dev', date: '2025-02-03T04:05:06Z' });
    const created = await gh.rest.git.createRef({ ...repo, ref: 'refs/heads/ai-dev/T1', sha: commit.data.sha });
    expect(created.status).toBe(201);
    const again = await errorOf(gh.rest.git.createRef({ ...repo, ref: 'refs/heads/ai-dev/T1', sha: baseSha }));
    expect(again.status).toBe(422);
    expect(again.response?.data).toMatchObject({ message: 'Reference already exists' });
    // Octokit sends heads%2Fai-dev%2FT1; the fake decodes it.
    expect((await gh.rest.git.getRef({ ...repo, ref: 'heads/ai-dev/T1' })).data.object.sha).toBe(commit.data.sha);
    expect(fake.requests.at(-1)?.path).toBe('/repos/acme/app/git/ref/heads/ai-dev/T1');
    expect(await fake.refSha('acme', 'app', 'heads/ai-dev/T1')).toBe(commit.data.sha);
    expect(await fake.readFile('acme', 'app', 'ai-dev/T1', 'src/a/b.ts')).toBe('export const b = 2;\n');
    expect(await fake.readFile('acme', 'app', 'ai-dev/T1', 'old.txt')).toBeUndefined();
    expect(await fake.log('acme', 'app', 'ai-dev/T1')).toEqual(['T1: add b\n\nBody line.', 'Initial commit']);
    expect(await fake.branches('acme', 'app')).toEqual(['ai-dev/T1', 'main']);

    const clonesBefore = fake.clones('acme', 'app');
    const dir = join(work, 'clone-app');
    const header = `http.extraHeader=Authorization: ${basicAuthorization(TOKEN)}`;
    const clone = await git([
      '-c',
      header,
      'clone',
      '--quiet',
      '--branch',
      'ai-dev/T1',
      fake.cloneUrl('acme', 'app'),
      dir,
    ]);
    expect(clone.stderr).toBe('');
    expect(clone.code).toBe(0);
    expect(await readFile(join(dir, 'src/a/b.ts'), 'utf8')).toBe('export const b = 2;\n');
    expect(await readFile(join(dir, 'src/keep.ts'), 'utf8')).toBe('export const keep = 1;\n');
    expect(await readFile(join(dir, 'assets/data.bin'))).toEqual(BINARY);
    expect((await stat(join(dir, 'run.sh'))).mode & 0o111).not.toBe(0);
    await expect(stat(join(dir, 'old.txt'))).rejects.toThrow();
    expect((await git(['log', '-1', '--format=%s'], { cwd: dir })).stdout.trim()).toBe('T1: add b');
    expect(await readFile(join(dir, '.git/config'), 'utf8')).not.toContain(TOKEN);
    expect(fake.clones('acme', 'app')).toBe(clonesBefore + 1);
    expect(fake.gitRequests.at(-1)).toMatchObject({ repo: 'acme/app', authPresent: true, login: 'dev', status: 200 });

    // Fast-forward moves are fine; going back is not, unless forced.
    const next = await gh.rest.git.createCommit({
      ...repo,
      message: 'T1: more',
      tree: tree.data.sha,
      parents: [commit.data.sha],
    });
    const moved = await gh.rest.git.updateRef({ ...repo, ref: 'heads/ai-dev/T1', sha: next.data.sha, force: false });
    expect(moved.data.object.sha).toBe(next.data.sha);
    const back = await errorOf(gh.rest.git.updateRef({ ...repo, ref: 'heads/ai-dev/T1', sha: baseSha, force: false }));
    expect(back.status).toBe(422);
    expect(back.response?.data).toMatchObject({ message: 'Update is not a fast forward' });
    await gh.rest.git.updateRef({ ...repo, ref: 'heads/ai-dev/T1', sha: baseSha, force: true });
    expect(await fake.refSha('acme', 'app', 'heads/ai-dev/T1')).toBe(baseSha);
  });

  it('shows commits pushed with git to the REST API', async () => {
    const dir = join(work, 'push-app');
    const env = gitAuthEnv(TOKEN);
    expect((await git(['clone', '--quiet', fake.cloneUrl('acme', 'app'), dir], { env })).code).toBe(0);
    await writeFile(join(dir, 'pushed.txt'), 'from git\n');
    const identity = ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com'];
    await git([...identity, 'add', 'pushed.txt'], { cwd: dir });
    await git([...identity, 'commit', '--quiet', '-m', 'Pushed with git'], { cwd: dir });
    const push = await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/pushed'], { cwd: dir, env });
    expect(push).toMatchObject({ code: 0 });
    expect(fake.pushes('acme', 'app')).toBe(1);
    const ref = await octokit(TOKEN).rest.git.getRef({ owner: 'acme', repo: 'app', ref: 'heads/pushed' });
    const commit = await octokit(TOKEN).rest.git.getCommit({
      owner: 'acme',
      repo: 'app',
      commit_sha: ref.data.object.sha,
    });
    expect(commit.data.message).toBe('Pushed with git\n');

    const frozen = join(work, 'push-frozen');
    expect((await git(['clone', '--quiet', fake.cloneUrl('acme', 'frozen'), frozen], { env })).code).toBe(0);
    const denied = await git(['push', 'origin', 'HEAD:refs/heads/nope'], { cwd: frozen, env });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('denied');
  });

  it('feeds an incremental bare mirror (fetch --prune with -c http.extraHeader) and a bundle of it', async () => {
    const mirror = join(work, 'mirror-app.git');
    expect((await git(['init', '--quiet', '--bare', mirror])).code).toBe(0);
    const remote = ['--git-dir', mirror, 'config', 'remote.origin.url', fake.cloneUrl('acme', 'app')];
    expect((await git(remote)).code).toBe(0);
    // The token only ever travels on the command line, never into the mirror's config.
    const auth = ['-c', `http.extraHeader=Authorization: ${basicAuthorization(TOKEN)}`];
    const fetchAll = (extra: string[] = auth) =>
      git([...extra, '--git-dir', mirror, 'fetch', '--quiet', '--prune', 'origin', '+refs/heads/*:refs/heads/*']);
    const mirrorRefs = async () => {
      const out = await git([
        '--git-dir',
        mirror,
        'for-each-ref',
        '--format=%(refname:short) %(objectname)',
        'refs/heads/',
      ]);
      return Object.fromEntries(
        out.stdout
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split(' ')),
      );
    };
    const fakeRefs = async () =>
      Object.fromEntries(
        await Promise.all(
          (await fake.branches('acme', 'app')).map(async (b) => [b, await fake.refSha('acme', 'app', b)]),
        ),
      );

    const denied = await fetchAll([]);
    expect(denied.code).not.toBe(0); // private: no token, no prompt
    const clonesBefore = fake.clones('acme', 'app');
    expect(await fetchAll()).toMatchObject({ code: 0, stderr: '' });
    expect(await mirrorRefs()).toEqual(await fakeRefs());

    // A branch made through the REST Git Data API, and one that goes away, reach the mirror incrementally.
    const made = await commitBranch('acme', 'app', 'ai-dev/mirrored', { 'mirrored.txt': 'via REST\n' });
    await commitBranch('acme', 'app', 'ai-dev/short-lived', { 'gone.txt': 'bye\n' });
    expect(await fetchAll()).toMatchObject({ code: 0, stderr: '' });
    expect((await mirrorRefs())['ai-dev/short-lived']).toBeDefined();
    await octokit(TOKEN).rest.git.deleteRef({ owner: 'acme', repo: 'app', ref: 'heads/ai-dev/short-lived' });
    expect(await fetchAll()).toMatchObject({ code: 0, stderr: '' });
    const refs = await mirrorRefs();
    expect(refs['ai-dev/mirrored']).toBe(made);
    expect(refs['ai-dev/short-lived']).toBeUndefined();
    expect(refs).toEqual(await fakeRefs());
    expect(fake.clones('acme', 'app')).toBe(clonesBefore + 3);
    expect(await readFile(join(mirror, 'config'), 'utf8')).not.toContain(TOKEN);

    const bundle = join(work, 'app.bundle');
    expect((await git(['--git-dir', mirror, 'bundle', 'create', bundle, '--all'])).code).toBe(0);
    expect((await git(['bundle', 'verify', bundle])).code).toBe(0);
    const fromBundle = join(work, 'from-bundle');
    expect((await git(['clone', '--quiet', '--branch', 'ai-dev/mirrored', bundle, fromBundle])).code).toBe(0);
    expect(await readFile(join(fromBundle, 'mirrored.txt'), 'utf8')).toBe('via REST\n');
  });

  it('refuses to clone a private repo without a token, without prompting; public repos clone anonymously', async () => {
    const started = Date.now();
    const denied = await git(['clone', fake.cloneUrl('acme', 'app'), join(work, 'anon-app')]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/terminal prompts disabled|Authentication failed/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fake.gitRequests.at(-1)).toMatchObject({ repo: 'acme/app', authPresent: false, status: 401 });

    const wrong = await git(['clone', fake.cloneUrl('acme', 'app'), join(work, 'wrong-app')], {
      env: gitAuthEnv('bad'),
    });
    expect(wrong.code).not.toBe(0);

    const open = await git(['clone', '--quiet', fake.cloneUrl('acme', 'lib'), join(work, 'anon-lib')]);
    expect(open.code).toBe(0);
    expect(await readFile(join(work, 'anon-lib/lib.ts'), 'utf8')).toBe('export {};\n');
  });
});

describe('contents API', () => {
  it('reads files, directories and big files of a ref the way GitHub answers them', async () => {
    const big = 'x'.repeat(1_500_000);
    await fake.addRepo({
      owner: 'acme',
      name: 'docs',
      private: true,
      files: {
        'AGENTS.md': '# Agents\nBe nice.\n',
        'CONTRIBUTING.md': 'Run the tests.\n',
        'docs/guide.md': 'guide\n',
        'docs/deep/more.md': 'more\n',
        'big.txt': big,
        'agents-link': { content: 'AGENTS.md', mode: '120000' },
      },
    });
    const gh = octokit(TOKEN);
    const repo = { owner: 'acme', repo: 'docs' };

    const file = await gh.rest.repos.getContent({ ...repo, path: 'AGENTS.md', ref: 'main' });
    const blobSha = (
      await git(['--git-dir', fake.repoDir('acme', 'docs'), 'rev-parse', 'main:AGENTS.md'])
    ).stdout.trim();
    expect(file.data).toMatchObject({
      type: 'file',
      encoding: 'base64',
      name: 'AGENTS.md',
      path: 'AGENTS.md',
      size: 18,
      sha: blobSha,
      html_url: `${fake.serverUrl}/acme/docs/blob/main/AGENTS.md`,
    });
    const content = (file.data as { content: string }).content;
    expect(content.endsWith('\n')).toBe(true); // GitHub wraps base64 in 60-character lines
    expect(Buffer.from(content, 'base64').toString('utf8')).toBe('# Agents\nBe nice.\n');
    const download = await fetch(String((file.data as { download_url: string }).download_url));
    expect(await download.text()).toBe('# Agents\nBe nice.\n');

    // Another ref sees its own version; the default branch is used without `ref`.
    await commitBranch('acme', 'docs', 'ai-dev/docs', { 'AGENTS.md': 'changed\n' });
    const onBranch = await gh.rest.repos.getContent({ ...repo, path: 'AGENTS.md', ref: 'ai-dev/docs' });
    expect(Buffer.from((onBranch.data as { content: string }).content, 'base64').toString()).toBe('changed\n');
    const onDefault = await gh.rest.repos.getContent({ ...repo, path: 'CONTRIBUTING.md' });
    expect(Buffer.from((onDefault.data as { content: string }).content, 'base64').toString()).toBe('Run the tests.\n');

    const dir = await gh.rest.repos.getContent({ ...repo, path: 'docs' });
    expect(Array.isArray(dir.data)).toBe(true);
    expect((dir.data as { name: string; type: string; path: string }[]).map((e) => [e.type, e.path])).toEqual([
      ['dir', 'docs/deep'],
      ['file', 'docs/guide.md'],
    ]);
    const root = await gh.rest.repos.getContent({ ...repo, path: '' });
    expect((root.data as { name: string }[]).map((e) => e.name)).toEqual([
      'AGENTS.md',
      'CONTRIBUTING.md',
      'agents-link',
      'big.txt',
      'docs',
    ]);

    // A symlink to a regular file answers with that file.
    const link = await gh.rest.repos.getContent({ ...repo, path: 'agents-link' });
    expect(link.data).toMatchObject({ type: 'file', path: 'AGENTS.md' });

    // Over 1 MB: no inline content, but the raw media type still serves the bytes.
    const large = await gh.rest.repos.getContent({ ...repo, path: 'big.txt' });
    expect(large.data).toMatchObject({ type: 'file', encoding: 'none', content: '', size: big.length });
    const raw = await gh.rest.repos.getContent({ ...repo, path: 'big.txt', mediaType: { format: 'raw' } });
    expect(String(raw.data).length).toBe(big.length);

    const missing = await errorOf(gh.rest.repos.getContent({ ...repo, path: 'nope.md' }));
    expect(missing.status).toBe(404);
    expect(missing.response?.data).toMatchObject({ message: 'Not Found' });
    const badRef = await errorOf(gh.rest.repos.getContent({ ...repo, path: 'AGENTS.md', ref: 'no-such-branch' }));
    expect(badRef.status).toBe(404);
  });
});

describe('checks, statuses and Actions jobs', () => {
  const repo = { owner: 'acme', repo: 'ci' };
  let sha: string;

  beforeAll(async () => {
    sha = await fake.addRepo({ owner: 'acme', name: 'ci', private: true });
  });

  it('lists check runs and suites of a commit, with per-token ETags and rate-limit-free 304s', async () => {
    const gh = octokit(TOKEN);
    const test = await fake.addCheckRun('acme', 'ci', {
      sha,
      name: 'test',
      status: 'in_progress',
      actions: { workflowName: 'CI', log: 'npm test\n1 failing\n' },
    });
    expect(test.jobId).toBe(test.id); // an Actions job id is its check run id
    await fake.addCheckRun('acme', 'ci', {
      sha: 'main',
      name: 'lint',
      conclusion: 'success',
      actions: { runId: test.runId },
    });
    await fake.addCheckRun('acme', 'ci', {
      sha,
      name: 'ci/circleci: build',
      conclusion: 'neutral',
      app: { slug: 'circleci-checks' },
      detailsUrl: 'https://circleci.example/build/1',
      output: { title: 'Skipped', summary: 'Nothing to build' },
    });

    const first = await gh.rest.checks.listForRef({ ...repo, ref: sha });
    expect(first.data.total_count).toBe(3);
    const testRun = first.data.check_runs.find((run) => run.name === 'test');
    const jobUrl = `${fake.serverUrl}/acme/ci/actions/runs/${test.runId}/job/${test.id}`;
    expect(testRun).toMatchObject({
      id: test.id,
      head_sha: sha,
      status: 'in_progress',
      conclusion: null,
      html_url: jobUrl,
      details_url: jobUrl,
      app: { slug: 'github-actions' },
      output: { title: null, summary: null },
      completed_at: null,
    });
    expect(first.data.check_runs.find((run) => run.app?.slug === 'circleci-checks')).toMatchObject({
      conclusion: 'neutral',
      details_url: 'https://circleci.example/build/1',
      output: { title: 'Skipped', summary: 'Nothing to build' },
    });
    const byName = await gh.rest.checks.listForRef({ ...repo, ref: 'main', check_name: 'lint' });
    expect(byName.data.total_count).toBe(1);

    // A matching If-None-Match answers 304 and costs no rate limit; another token does not match.
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"[0-9a-f]+"$/);
    const again = await errorOf(gh.rest.checks.listForRef({ ...repo, ref: sha, headers: { 'if-none-match': etag } }));
    expect(again.status).toBe(304);
    expect(again.response?.data).toBe('');
    const remaining = Number(again.response?.headers['x-ratelimit-remaining']);
    expect(remaining).toBe(Number(byName.headers['x-ratelimit-remaining']));
    const next = await gh.rest.checks.listForRef({ ...repo, ref: sha });
    expect(next.headers.etag).toBe(etag);
    expect(Number(next.headers['x-ratelimit-remaining'])).toBe(remaining - 1);
    const other = await octokit(CLASSIC_TOKEN).rest.checks.listForRef({
      ...repo,
      ref: sha,
      headers: { 'if-none-match': etag },
    });
    expect(other.status).toBe(200);

    // The run completes: the old ETag no longer matches.
    fake.updateCheckRun('acme', 'ci', test.id, {
      conclusion: 'failure',
      output: { title: '1 test failed', summary: 'see the log' },
    });
    const changed = await gh.rest.checks.listForRef({ ...repo, ref: sha, headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.data.check_runs.find((run) => run.id === test.id)).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: '1 test failed' },
      completed_at: expect.any(String),
    });

    const suites = await gh.rest.checks.listSuitesForRef({ ...repo, ref: sha });
    expect(suites.data.total_count).toBe(2);
    expect(suites.data.check_suites.map((suite) => [suite.app?.slug, suite.status, suite.conclusion])).toEqual([
      ['github-actions', 'completed', 'failure'],
      ['circleci-checks', 'completed', 'neutral'],
    ]);
    expect(suites.data.check_suites[0]).toMatchObject({
      head_sha: sha,
      head_branch: 'main',
      latest_check_runs_count: 2,
    });
    const suitesEtag = String(suites.headers.etag);
    const suites304 = await errorOf(
      gh.rest.checks.listSuitesForRef({ ...repo, ref: sha, headers: { 'if-none-match': suitesEtag } }),
    );
    expect(suites304.status).toBe(304);

    const unknown = await errorOf(gh.rest.checks.listForRef({ ...repo, ref: 'no-such-branch' }));
    expect(unknown.status).toBe(422);
  });

  it('serves commit statuses, one by one and combined, with ETags', async () => {
    const gh = octokit(TOKEN);
    await fake.addStatus('acme', 'ci', { sha, state: 'pending', context: 'ci/jenkins', description: 'Building' });
    const empty = await gh.rest.repos.getCombinedStatusForRef({ ...repo, ref: 'main' });
    expect(empty.data).toMatchObject({ state: 'pending', sha, total_count: 1 });
    await fake.addStatus('acme', 'ci', {
      sha,
      state: 'failure',
      context: 'ci/jenkins',
      description: 'Tests failed',
      targetUrl: 'https://jenkins.example/job/1',
    });
    await fake.addStatus('acme', 'ci', { sha, state: 'success', context: 'coverage' });

    const combined = await gh.rest.repos.getCombinedStatusForRef({ ...repo, ref: sha });
    expect(combined.data).toMatchObject({ state: 'failure', sha, total_count: 2 });
    expect(combined.data.statuses.map((status) => [status.context, status.state])).toEqual([
      ['coverage', 'success'],
      ['ci/jenkins', 'failure'],
    ]);
    expect(combined.data.statuses[1]).toMatchObject({
      description: 'Tests failed',
      target_url: 'https://jenkins.example/job/1',
    });
    const combined304 = await errorOf(
      gh.rest.repos.getCombinedStatusForRef({
        ...repo,
        ref: sha,
        headers: { 'if-none-match': String(combined.headers.etag) },
      }),
    );
    expect(combined304.status).toBe(304);

    const all = await gh.rest.repos.listCommitStatusesForRef({ ...repo, ref: sha });
    expect(all.data.map((status) => status.state)).toEqual(['success', 'failure', 'pending']); // newest first
    expect(all.data[0]?.creator?.login).toBe('ci-bot');
    const all304 = await errorOf(
      gh.rest.repos.listCommitStatusesForRef({
        ...repo,
        ref: sha,
        headers: { 'if-none-match': String(all.headers.etag) },
      }),
    );
    expect(all304.status).toBe(304);
  });

  it('serves Actions jobs and redirects their log download to a plain-text URL', async () => {
    const gh = octokit(TOKEN);
    const job = await fake.addCheckRun('acme', 'ci', {
      sha,
      name: 'build',
      actions: { workflowName: 'Build', steps: [{ name: 'Set up job' }, { name: 'Run npm ci' }] },
    });
    const queued = await gh.rest.actions.getJobForWorkflowRun({ ...repo, job_id: job.id });
    expect(queued.data).toMatchObject({
      id: job.id,
      run_id: job.runId,
      head_sha: sha,
      status: 'queued',
      conclusion: null,
      name: 'build',
      workflow_name: 'Build',
      html_url: job.htmlUrl,
      check_run_url: `${fake.apiUrl}/repos/acme/ci/check-runs/${job.id}`,
    });
    expect((await errorOf(gh.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: job.id }))).status).toBe(
      404,
    );

    fake.setJobLog('acme', 'ci', job.id, '2024-01-01T00:00:00.0000000Z npm ERR! missing script: build\n');
    fake.updateCheckRun('acme', 'ci', job.id, { conclusion: 'failure' });
    const done = await gh.rest.actions.getJobForWorkflowRun({ ...repo, job_id: job.id });
    expect(done.data).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(done.data.steps?.map((step) => step.conclusion)).toEqual(['failure', 'failure']);

    // Octokit follows the 302 to the log URL, which needs no token.
    const logs = await gh.rest.actions.downloadJobLogsForWorkflowRun({ ...repo, job_id: job.id });
    expect(logs.status).toBe(200);
    expect(logs.data).toBe('2024-01-01T00:00:00.0000000Z npm ERR! missing script: build\n');
    expect(logs.url).toContain(`${fake.serverUrl}/_fake/job-logs/`);
    const redirect = await fetch(`${fake.apiUrl}/repos/acme/ci/actions/jobs/${job.id}/logs`, {
      headers: { authorization: `token ${TOKEN}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers.get('location'));
    expect(await (await fetch(location)).text()).toContain('missing script');

    expect((await errorOf(gh.rest.actions.getJobForWorkflowRun({ ...repo, job_id: 424242 }))).status).toBe(404);
  });
});

describe('pull requests', () => {
  it('creates, finds by head, edits, rejects a duplicate, and sees a merge', async () => {
    const gh = octokit(TOKEN);
    const repo = { owner: 'acme', repo: 'app' };
    const headSha = await commitBranch('acme', 'app', 'ai-dev/T2', { 'feature.txt': 'T2\n' });
    const created = await gh.rest.pulls.create({
      ...repo,
      title: 'T2',
      head: 'ai-dev/T2',
      base: 'main',
      body: 'Does T2',
      draft: true,
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      number: expect.any(Number),
      state: 'open',
      title: 'T2',
      body: 'Does T2',
      draft: true,
      merged: false,
      head: { ref: 'ai-dev/T2', sha: headSha },
      base: { ref: 'main' },
      html_url: `${fake.serverUrl}/acme/app/pull/${created.data.number}`,
    });

    const found = await gh.rest.pulls.list({ ...repo, head: 'acme:ai-dev/T2', state: 'all' });
    expect(found.data.map((pull) => pull.number)).toEqual([created.data.number]);
    expect(fake.requests.at(-1)?.query).toMatchObject({ head: 'acme:ai-dev/T2', state: 'all' });
    expect((await gh.rest.pulls.list({ ...repo, head: 'acme:nothing', state: 'all' })).data).toEqual([]);

    const edited = await gh.rest.pulls.update({
      ...repo,
      pull_number: created.data.number,
      title: 'T2 (v2)',
      body: 'More',
    });
    expect(edited.data).toMatchObject({ title: 'T2 (v2)', body: 'More', state: 'open' });

    const duplicate = await errorOf(gh.rest.pulls.create({ ...repo, title: 'again', head: 'ai-dev/T2', base: 'main' }));
    expect(duplicate.status).toBe(422);
    expect(duplicate.response?.data).toMatchObject({
      message: 'Validation Failed',
      errors: [{ message: 'A pull request already exists for acme:ai-dev/T2.' }],
    });

    const mergeSha = await fake.mergePull('acme', 'app', created.data.number);
    const merged = await gh.rest.pulls.get({ ...repo, pull_number: created.data.number });
    expect(merged.data).toMatchObject({ state: 'closed', merged: true, merge_commit_sha: mergeSha });
    expect(await fake.readFile('acme', 'app', 'main', 'feature.txt')).toBe('T2\n');
    expect((await fake.log('acme', 'app', 'main'))[0]).toMatch(/^Merge pull request #\d+ from acme\/ai-dev\/T2/);
    const reopen = await errorOf(gh.rest.pulls.update({ ...repo, pull_number: created.data.number, state: 'open' }));
    expect(reopen.status).toBe(422);
    expect(fake.pulls('acme', 'app')[0]).toMatchObject({ merged: true, headRef: 'ai-dev/T2' });

    await commitBranch('acme', 'app', 'ai-dev/T3', { 't3.txt': 'T3\n' });
    const t3 = await gh.rest.pulls.create({ ...repo, title: 'T3', head: 'acme:ai-dev/T3', base: 'main' });
    fake.closePull('acme', 'app', t3.data.number);
    const reopened = await gh.rest.pulls.update({ ...repo, pull_number: t3.data.number, state: 'open' });
    expect(reopened.data.state).toBe('open');
  });
});

describe('workflow files need the workflow permission', () => {
  const repo = { owner: 'acme', repo: 'wf' };
  const CI = '.github/workflows/ci.yml';

  beforeAll(async () => {
    await fake.addRepo({
      owner: 'acme',
      name: 'wf',
      private: true,
      files: { 'README.md': '# wf\n', [CI]: 'on: push\n' },
    });
  });

  /** A commit on top of `parent` with `files` (`null` deletes), built through the Git Data API as `token`. */
  async function commitAs(token: string, parent: string, files: Record<string, string | null>) {
    const gh = octokit(token);
    const baseTree = (await gh.rest.git.getCommit({ ...repo, commit_sha: parent })).data.tree.sha;
    const tree = await gh.rest.git.createTree({
      ...repo,
      base_tree: baseTree,
      tree: Object.entries(files).map(([path, content]) =>
        content === null
          ? { path, mode: '100644' as const, type: 'blob' as const, sha: null }
          : { path, mode: '100644' as const, type: 'blob' as const, content },
      ),
    });
    const commit = await gh.rest.git.createCommit({
      ...repo,
      message: 'change',
      tree: tree.data.sha,
      parents: [parent],
    });
    return commit.data.sha;
  }

  it('refuses REST trees and refs that change workflow files without the scope or permission (404)', async () => {
    const main = String(await fake.refSha('acme', 'wf', 'main'));
    const classic = octokit(CLASSIC_TOKEN);

    // Trees: touching a workflow file (add, change or delete) needs the workflow scope.
    const refusedTree = await errorOf(commitAs(CLASSIC_TOKEN, main, { [CI]: 'on: pull_request\n' }));
    expect(refusedTree.status).toBe(404);
    expect(refusedTree.response?.data).toMatchObject({ message: 'Not Found' });
    expect((await errorOf(commitAs(CLASSIC_TOKEN, main, { [CI]: null }))).status).toBe(404);
    expect((await errorOf(commitAs(CLASSIC_TOKEN, main, { '.github/workflows/new.yml': 'x' }))).status).toBe(404);
    const readme = await commitAs(CLASSIC_TOKEN, main, { 'README.md': 'docs only\n' });
    expect((await classic.rest.git.createRef({ ...repo, ref: 'refs/heads/docs', sha: readme })).status).toBe(201);

    // A commit that changes a workflow (built by a token that may) cannot become a branch without the scope.
    const changed = await commitAs(WORKFLOW_TOKEN, main, { [CI]: 'on: pull_request\n' });
    const refusedRef = await errorOf(classic.rest.git.createRef({ ...repo, ref: 'refs/heads/wf-1', sha: changed }));
    expect(refusedRef.status).toBe(404);
    expect(await fake.refSha('acme', 'wf', 'wf-1')).toBeUndefined();
    await octokit(WORKFLOW_TOKEN).rest.git.createRef({ ...repo, ref: 'refs/heads/wf-1', sha: changed });

    // Moving that branch on with a non-workflow change is fine: the workflow files match what it had.
    const onTop = await commitAs(CLASSIC_TOKEN, changed, { 'README.md': 'more\n' });
    await classic.rest.git.updateRef({ ...repo, ref: 'heads/wf-1', sha: onTop });
    // But moving the docs branch (whose workflows match main) onto it, or branching it anew, is not.
    const move = await errorOf(classic.rest.git.updateRef({ ...repo, ref: 'heads/docs', sha: onTop, force: true }));
    expect(move.status).toBe(404);
    expect((await errorOf(classic.rest.git.createRef({ ...repo, ref: 'refs/heads/wf-2', sha: onTop }))).status).toBe(
      404,
    );

    // GitHub App installation tokens need `workflows: write`, which the installation must have been granted.
    const jwt = octokit(appJwt(privateKey, APP_ID));
    const installation_id = Number(fake.installationId('acme'));
    const plain = await jwt.rest.apps.createInstallationAccessToken({
      installation_id,
      repositories: ['wf'],
      permissions: { contents: 'write' },
    });
    expect(plain.data.permissions).toEqual({ contents: 'write', metadata: 'read' });
    const bot = octokit(plain.data.token);
    expect((await errorOf(bot.rest.git.createRef({ ...repo, ref: 'refs/heads/wf-3', sha: changed }))).status).toBe(404);
    const tooMuch = await errorOf(
      jwt.rest.apps.createInstallationAccessToken({
        installation_id,
        repositories: ['wf'],
        permissions: { contents: 'write', workflows: 'write' },
      }),
    );
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.response?.data).toMatchObject({
      message: 'The permissions requested are not granted to this installation.',
    });
    expect(fake.mintedTokens().at(-1)).toMatchObject({
      installationId: installation_id,
      requestedPermissions: { contents: 'write', workflows: 'write' },
      requestedRepositories: ['wf'],
      refused: 'The permissions requested are not granted to this installation.',
    });
    fake.setAppPermissions({ contents: 'write', pull_requests: 'write', metadata: 'read', workflows: 'write' });
    try {
      const withWorkflows = await jwt.rest.apps.createInstallationAccessToken({
        installation_id,
        repositories: ['wf'],
        permissions: { contents: 'write', workflows: 'write' },
      });
      await octokit(withWorkflows.data.token).rest.git.createRef({ ...repo, ref: 'refs/heads/wf-3', sha: changed });
      expect(fake.mintedTokens().at(-1)).toMatchObject({
        requestedPermissions: { contents: 'write', workflows: 'write' },
        permissions: { contents: 'write', workflows: 'write', metadata: 'read' },
        repositories: ['acme/wf'],
      });
      expect(fake.mintedTokens().at(-1)?.refused).toBeUndefined();
      expect(JSON.stringify(fake.mintedTokens())).not.toContain(withWorkflows.data.token);
    } finally {
      fake.setAppPermissions({ contents: 'write', pull_requests: 'write', metadata: 'read' });
    }
  });

  it('rejects a git push that changes workflow files with GitHub’s message', async () => {
    const identity = ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com'];
    const dir = join(work, 'push-wf');
    expect((await git(['clone', '--quiet', fake.cloneUrl('acme', 'wf'), dir], { env: gitAuthEnv(TOKEN) })).code).toBe(
      0,
    );
    await writeFile(join(dir, CI), 'on: [push, pull_request]\n');
    await git([...identity, 'commit', '--quiet', '-am', 'Touch CI'], { cwd: dir });

    const classic = await git(['push', 'origin', 'HEAD:refs/heads/ci-change'], {
      cwd: dir,
      env: gitAuthEnv(CLASSIC_TOKEN),
    });
    expect(classic.code).not.toBe(0);
    expect(classic.stderr).toContain(
      '! [remote rejected] HEAD -> ci-change (refusing to allow a Personal Access Token to create or update workflow `.github/workflows/ci.yml` without `workflow` scope)',
    );
    expect(await fake.refSha('acme', 'wf', 'ci-change')).toBeUndefined();

    const jwt = octokit(appJwt(privateKey, APP_ID));
    const minted = await jwt.rest.apps.createInstallationAccessToken({
      installation_id: Number(fake.installationId('acme')),
      repositories: ['wf'],
      permissions: { contents: 'write' },
    });
    const asApp = await git(['push', 'origin', 'HEAD:refs/heads/ci-change'], {
      cwd: dir,
      env: gitAuthEnv(minted.data.token),
    });
    expect(asApp.code).not.toBe(0);
    expect(asApp.stderr).toContain(
      '(refusing to allow a GitHub App to create or update workflow `.github/workflows/ci.yml` without `workflows` permission)',
    );

    const allowed = await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/ci-change'], {
      cwd: dir,
      env: gitAuthEnv(WORKFLOW_TOKEN),
    });
    expect(allowed).toMatchObject({ code: 0, stderr: '' });
    expect(await fake.readFile('acme', 'wf', 'ci-change', CI)).toBe('on: [push, pull_request]\n');

    // Later pushes to that branch that leave the workflows alone need no scope.
    await writeFile(join(dir, 'notes.txt'), 'notes\n');
    await git([...identity, 'add', 'notes.txt'], { cwd: dir });
    await git([...identity, 'commit', '--quiet', '-m', 'Notes'], { cwd: dir });
    const followUp = await git(['push', '--quiet', 'origin', 'HEAD:refs/heads/ci-change'], {
      cwd: dir,
      env: gitAuthEnv(CLASSIC_TOKEN),
    });
    expect(followUp).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('reviews, comments and collaborators', () => {
  it('lists reviews and review comments, lets the bot reply in a thread and comment on the conversation', async () => {
    await fake.addRepo({ owner: 'acme', name: 'rev', private: true, files: { 'src/a.ts': 'one\ntwo\n' } });
    const headSha = await commitBranch('acme', 'rev', 'ai-dev/R1', { 'src/a.ts': 'a\nb\nc\nd\n' });
    const gh = octokit(TOKEN);
    const repo = { owner: 'acme', repo: 'rev' };
    const pr = await gh.rest.pulls.create({ ...repo, title: 'R1', head: 'ai-dev/R1', base: 'main' });
    const pull_number = pr.data.number;
    fake.setCollaborator('acme', 'rev', 'alice', 'write');

    const review = await fake.addReview('acme', 'rev', pull_number, {
      user: 'alice',
      state: 'CHANGES_REQUESTED',
      body: 'Almost there',
      comments: [{ path: 'src/a.ts', line: 2, body: 'Rename b' }],
    });
    const driveBy = await fake.addReviewComment('acme', 'rev', pull_number, {
      user: 'mallory',
      body: 'drive-by',
      path: 'src/a.ts',
      line: 4,
    });
    fake.addIssueComment('acme', 'rev', pull_number, { user: 'alice', body: '@ai-dev please fix the naming' });

    const reviews = await gh.rest.pulls.listReviews({ ...repo, pull_number });
    expect(reviews.data.map((r) => [r.user?.login, r.state, r.author_association])).toEqual([
      ['alice', 'CHANGES_REQUESTED', 'COLLABORATOR'],
      ['mallory', 'COMMENTED', 'NONE'],
    ]);
    expect(reviews.data[0]).toMatchObject({ id: review.id, body: 'Almost there', commit_id: headSha });

    const inReview = await gh.rest.pulls.listCommentsForReview({ ...repo, pull_number, review_id: review.id });
    expect(inReview.data).toHaveLength(1);
    const [first] = review.commentIds;
    expect(inReview.data[0]).toMatchObject({
      id: first,
      pull_request_review_id: review.id,
      path: 'src/a.ts',
      line: 2,
      side: 'RIGHT',
      body: 'Rename b',
      user: { login: 'alice', type: 'User' },
      author_association: 'COLLABORATOR',
      commit_id: headSha,
    });
    expect(inReview.data[0]?.in_reply_to_id).toBeUndefined();
    expect(inReview.data[0]?.diff_hunk).toContain('+b');

    const reply = await gh.rest.pulls.createReplyForReviewComment({
      ...repo,
      pull_number,
      comment_id: Number(first),
      body: 'Renamed in the next commit.',
    });
    expect(reply.status).toBe(201);
    expect(reply.data).toMatchObject({ in_reply_to_id: first, path: 'src/a.ts', line: 2, user: { login: 'dev' } });
    const all = await gh.rest.pulls.listReviewComments({ ...repo, pull_number });
    expect(all.data.map((c) => [c.user?.login, c.in_reply_to_id ?? null])).toEqual([
      ['alice', null],
      ['mallory', null],
      ['dev', first],
    ]);
    expect(fake.reviewComments('acme', 'rev', pull_number).at(-1)).toMatchObject({
      user: 'dev',
      body: 'Renamed in the next commit.',
      inReplyToId: first,
    });
    expect(driveBy.reviewId).not.toBe(review.id);
    const missing = await errorOf(
      gh.rest.pulls.createReplyForReviewComment({ ...repo, pull_number, comment_id: 999999, body: 'x' }),
    );
    expect(missing.status).toBe(404);

    const conversation = await gh.rest.issues.listComments({ ...repo, issue_number: pull_number });
    expect(conversation.data.map((c) => [c.user?.login, c.author_association, c.body])).toEqual([
      ['alice', 'COLLABORATOR', '@ai-dev please fix the naming'],
    ]);

    // The App's bot answers on the conversation with an installation token.
    const jwt = octokit(appJwt(privateKey, APP_ID));
    const minted = await jwt.rest.apps.createInstallationAccessToken({
      installation_id: Number(fake.installationId('acme')),
      repositories: ['rev'],
      permissions: { pull_requests: 'write' },
    });
    const bot = octokit(minted.data.token);
    const posted = await bot.rest.issues.createComment({ ...repo, issue_number: pull_number, body: 'On it.' });
    expect(posted.status).toBe(201);
    expect(posted.data).toMatchObject({
      body: 'On it.',
      user: { login: 'ai-dev[bot]', type: 'Bot' },
      performed_via_github_app: { slug: 'ai-dev' },
    });
    expect(fake.issueComments('acme', 'rev', pull_number).map((c) => c.user)).toEqual(['alice', 'ai-dev[bot]']);
    const empty = await errorOf(bot.rest.issues.createComment({ ...repo, issue_number: pull_number, body: '' }));
    expect(empty.status).toBe(422);

    // A token without pull request access can neither read reviews of a private repo nor post.
    const readOnly = await jwt.rest.apps.createInstallationAccessToken({
      installation_id: Number(fake.installationId('acme')),
      permissions: { contents: 'read' },
    });
    const limited = octokit(readOnly.data.token);
    expect((await errorOf(limited.rest.pulls.listReviews({ ...repo, pull_number }))).status).toBe(403);
    const refused = await errorOf(limited.rest.issues.createComment({ ...repo, issue_number: pull_number, body: 'x' }));
    expect(refused.status).toBe(403);
    expect(refused.response?.data).toMatchObject({ message: 'Resource not accessible by integration' });
  });

  it('answers collaborator permission levels with the legacy permission and the role name', async () => {
    const gh = octokit(TOKEN);
    const repo = { owner: 'acme', repo: 'rev' };
    fake.setCollaborator('acme', 'rev', 'mona', 'maintain');
    fake.setCollaborator('acme', 'rev', 'tri', 'triage');
    const level = async (username: string) =>
      (await gh.rest.repos.getCollaboratorPermissionLevel({ ...repo, username })).data;
    expect(await level('alice')).toMatchObject({
      permission: 'write',
      role_name: 'write',
      user: { login: 'alice', permissions: { push: true, admin: false } },
    });
    expect(await level('mona')).toMatchObject({ permission: 'write', role_name: 'maintain' });
    expect(await level('tri')).toMatchObject({ permission: 'read', role_name: 'triage' });
    expect(await level('acme')).toMatchObject({ permission: 'admin' });
    expect(await level('stranger')).toMatchObject({ permission: 'none', user: { permissions: { pull: false } } });
    fake.setCollaborator('acme', 'rev', 'alice', null);
    expect((await level('alice')).permission).toBe('none');
  });
});

describe('webhooks', () => {
  it('delivers signed, GitHub-shaped events about the fake’s own checks, statuses, reviews and comments', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(202).end('queued');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/github/webhook`;
    try {
      await fake.addRepo({ owner: 'acme', name: 'hooks', private: true, files: { 'a.ts': 'x\n' } });
      const headSha = await commitBranch('acme', 'hooks', 'ai-dev/H1', { 'a.ts': 'y\n' });
      const pr = await octokit(TOKEN).rest.pulls.create({
        owner: 'acme',
        repo: 'hooks',
        title: 'H1',
        head: 'ai-dev/H1',
        base: 'main',
      });
      const number = pr.data.number;
      const run = await fake.addCheckRun('acme', 'hooks', {
        sha: headSha,
        name: 'test',
        conclusion: 'failure',
        actions: { log: 'boom\n' },
        output: { title: '1 failed', summary: 'x' },
      });
      const status = await fake.addStatus('acme', 'hooks', { sha: headSha, state: 'failure', context: 'ci/legacy' });
      fake.setCollaborator('acme', 'hooks', 'alice', 'write');
      const review = await fake.addReview('acme', 'hooks', number, {
        user: 'alice',
        state: 'APPROVED',
        comments: [{ path: 'a.ts', line: 1, body: 'nit' }],
      });
      const reply = await fake.addReviewComment('acme', 'hooks', number, {
        user: 'alice',
        body: 'and this',
        inReplyTo: review.commentIds[0],
      });
      const comment = fake.addIssueComment('acme', 'hooks', number, { user: 'alice', body: '@ai-dev fix CI' });

      const secret = 'webhook-secret';
      const hooks = [
        await fake.webhooks.checkRun('acme', 'hooks', run.id),
        await fake.webhooks.checkSuite('acme', 'hooks', run.suiteId),
        await fake.webhooks.status('acme', 'hooks', status.id),
        await fake.webhooks.pullRequestReview('acme', 'hooks', review.id),
        await fake.webhooks.pullRequestReviewComment('acme', 'hooks', reply.id),
        await fake.webhooks.issueComment('acme', 'hooks', comment.id),
      ];
      for (const hook of hooks) {
        const result = await deliverWebhook(url, { ...hook, secret });
        expect(result).toMatchObject({ status: 202, body: 'queued' });
      }
      expect(received.map((r) => r.headers['x-github-event'])).toEqual([
        'check_run',
        'check_suite',
        'status',
        'pull_request_review',
        'pull_request_review_comment',
        'issue_comment',
      ]);
      for (const { headers, body } of received) {
        expect(headers['content-type']).toBe('application/json');
        expect(headers['user-agent']).toMatch(/^GitHub-Hookshot\/[0-9a-f]{7}$/);
        expect(headers['x-github-delivery']).toMatch(/^[0-9a-f-]{36}$/);
        expect(headers['x-hub-signature-256']).toBe(
          `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        );
        expect(headers['x-hub-signature-256']).toBe(webhookSignature256(body, secret));
        expect(headers['x-github-hook-installation-target-type']).toBe('integration');
        expect(headers['x-github-hook-installation-target-id']).toBe(String(APP_ID));
        const payload = JSON.parse(body);
        expect(payload.repository).toMatchObject({ full_name: 'acme/hooks', private: true, owner: { login: 'acme' } });
        expect(payload.installation).toEqual({ id: fake.installationId('acme'), node_id: expect.any(String) });
        expect(payload.sender.login).toEqual(expect.any(String));
      }
      const [checkRun, checkSuite, statusHook, reviewHook, reviewComment, issueComment] = received.map((r) =>
        JSON.parse(r.body),
      );
      expect(checkRun).toMatchObject({
        action: 'completed',
        check_run: {
          id: run.id,
          name: 'test',
          head_sha: headSha,
          status: 'completed',
          conclusion: 'failure',
          details_url: run.htmlUrl,
          output: { title: '1 failed' },
          app: { slug: 'github-actions' },
          check_suite: { id: run.suiteId, head_branch: 'ai-dev/H1' },
          pull_requests: [{ number, head: { ref: 'ai-dev/H1', sha: headSha } }],
        },
        sender: { login: 'github-actions[bot]', type: 'Bot' },
      });
      expect(checkSuite).toMatchObject({
        action: 'completed',
        check_suite: { id: run.suiteId, head_sha: headSha, status: 'completed', conclusion: 'failure' },
      });
      expect(statusHook).toMatchObject({
        sha: headSha,
        state: 'failure',
        context: 'ci/legacy',
        name: 'acme/hooks',
        branches: [{ name: 'ai-dev/H1', commit: { sha: headSha } }],
        commit: { sha: headSha, commit: { message: 'Add ai-dev/H1' } },
      });
      expect(reviewHook).toMatchObject({
        action: 'submitted',
        review: { id: review.id, state: 'approved', user: { login: 'alice' }, author_association: 'COLLABORATOR' },
        pull_request: { number, head: { sha: headSha, ref: 'ai-dev/H1' }, base: { ref: 'main' } },
        sender: { login: 'alice' },
      });
      expect(reviewComment).toMatchObject({
        action: 'created',
        comment: { id: reply.id, in_reply_to_id: review.commentIds[0], path: 'a.ts', line: 1, body: 'and this' },
        pull_request: { number },
      });
      expect(issueComment).toMatchObject({
        action: 'created',
        issue: { number, pull_request: { html_url: pr.data.html_url } },
        comment: { id: comment.id, body: '@ai-dev fix CI', author_association: 'COLLABORATOR' },
      });

      // Without a secret GitHub sends no signatures; a redelivery keeps its GUID.
      const again = await fake.webhooks.issueComment('acme', 'hooks', comment.id);
      const unsigned = await deliverWebhook(url, { ...again, deliveryId: 'fixed-guid' });
      expect(unsigned.deliveryId).toBe('fixed-guid');
      expect(received.at(-1)?.headers['x-hub-signature-256']).toBeUndefined();
      expect(received.at(-1)?.headers['x-github-delivery']).toBe('fixed-guid');
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});

describe('fault injection', () => {
  it('fails the next matching request with the given status, body and headers', async () => {
    fake.failNext({ method: 'GET', pathIncludes: '/repos/acme/app', status: 502 });
    const error = await errorOf(octokit(TOKEN).rest.repos.get({ owner: 'acme', repo: 'app' }));
    expect(error.status).toBe(502);
    expect(fake.requests.at(-1)).toMatchObject({ status: 502, injected: true });
    expect((await octokit(TOKEN).rest.repos.get({ owner: 'acme', repo: 'app' })).status).toBe(200);

    fake.failNext({
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
      headers: { 'retry-after': '7' },
    });
    const limited = await errorOf(octokit(TOKEN).rest.pulls.list({ owner: 'acme', repo: 'app' }));
    expect(limited.status).toBe(403);
    expect(limited.response?.headers['retry-after']).toBe('7');
    expect(JSON.stringify(limited.response?.data)).toContain('secondary rate limit');
  });
});

describe('token introspection (doctor)', () => {
  it('answers GET /user with the user and a classic token’s X-OAuth-Scopes, 401 for unknown tokens, GET /app for a JWT', async () => {
    const classic = await octokit(CLASSIC_TOKEN).rest.users.getAuthenticated();
    expect(classic.data).toMatchObject({ login: 'classic', type: 'User', name: 'Classic Dev', site_admin: false });
    expect(classic.headers['x-oauth-scopes']).toBe('repo, read:org');
    // Every response to a classic token carries its scopes, not only /user.
    const repo = await octokit(CLASSIC_TOKEN).rest.repos.get({ owner: 'acme', repo: 'app' });
    expect(repo.headers['x-oauth-scopes']).toBe('repo, read:org');
    expect(repo.data.permissions?.push).toBe(true);

    // A token configured without scopes (fine-grained style) sends no X-OAuth-Scopes.
    const plain = await octokit(TOKEN).rest.users.getAuthenticated();
    expect(plain.data.login).toBe('dev');
    expect(plain.headers['x-oauth-scopes']).toBeUndefined();

    const unknown = await errorOf(octokit('ghp_not_a_token').rest.users.getAuthenticated());
    expect(unknown.status).toBe(401);
    expect(unknown.response?.data).toMatchObject({ message: 'Bad credentials' });

    const app = await octokit(appJwt(privateKey, APP_ID)).rest.apps.getAuthenticated();
    expect(app.data).toMatchObject({
      id: APP_ID,
      slug: 'ai-dev',
      permissions: { contents: 'write', pull_requests: 'write' },
    });
    const jwtAsUser = await errorOf(octokit(appJwt(privateKey, APP_ID)).rest.users.getAuthenticated());
    expect(jwtAsUser.status).toBe(401);
  });
});

describe('GitHub App mode', () => {
  it('exchanges a JWT for an installation token that reads only its repositories', async () => {
    const jwt = appJwt(privateKey, APP_ID);
    const app = octokit(jwt);
    const installation = await app.rest.apps.getRepoInstallation({ owner: 'acme', repo: 'app' });
    expect(installation.data.id).toBe(fake.installationId('acme'));
    expect(fake.requests.at(-1)).toMatchObject({ authScheme: 'bearer' });

    const minted = await app.rest.apps.createInstallationAccessToken({
      installation_id: installation.data.id,
      repositories: ['app'],
      permissions: { contents: 'write', pull_requests: 'write' },
    });
    expect(minted.status).toBe(201);
    expect(minted.data.token).toMatch(/^ghs_/);
    expect(Date.parse(minted.data.expires_at)).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(minted.data.repositories?.map((repo) => repo.full_name)).toEqual(['acme/app']);

    const bot = octokit(minted.data.token);
    expect((await bot.rest.repos.get({ owner: 'acme', repo: 'app' })).data.full_name).toBe('acme/app');
    expect((await errorOf(bot.rest.repos.get({ owner: 'acme', repo: 'lib' }))).status).toBe(404);
    expect(fake.requests.at(-1)).toMatchObject({ login: 'ai-dev[bot]' });

    const clone = await git(['clone', '--quiet', fake.cloneUrl('acme', 'app'), join(work, 'bot-app')], {
      env: gitAuthEnv(minted.data.token),
    });
    expect(clone.code).toBe(0);
    const other = await git(['clone', fake.cloneUrl('acme', 'frozen'), join(work, 'bot-frozen')], {
      env: gitAuthEnv(minted.data.token),
    });
    expect(other.code).not.toBe(0);

    const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await errorOf(
      octokit(appJwt(otherKey, APP_ID)).rest.apps.getRepoInstallation({ owner: 'acme', repo: 'app' }),
    );
    expect(forged.status).toBe(401);
    const wrongApp = await errorOf(
      octokit(appJwt(privateKey, 1)).rest.apps.getRepoInstallation({ owner: 'acme', repo: 'app' }),
    );
    expect(wrongApp.status).toBe(401);

    fake.expireToken(minted.data.token);
    expect((await errorOf(bot.rest.repos.get({ owner: 'acme', repo: 'app' }))).status).toBe(401);
  });
});
