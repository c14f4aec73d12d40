/**
 * A loopback fake of GitHub for integration tests: the REST API as `@octokit/rest` calls it plus real
 * git smart-HTTP (`git http-backend`), both on one `http` server on 127.0.0.1, over real bare
 * repositories in a temp dir — so what the REST Git Data API writes is what `git clone` sees, and vice
 * versa. It answers as GitHub does and refuses what GitHub refuses:
 *
 * - repos, Git Data (refs, commits, trees, blobs), branches, contents (files, dirs, >1 MB, raw);
 * - pull requests, reviews, review comments and replies, issue comments, collaborator permissions;
 * - check runs and suites, commit statuses, Actions jobs and their logs (302 to a plain-text URL);
 * - `GET /user` (+ `X-OAuth-Scopes`), GitHub App JWT endpoints and installation tokens;
 * - per-token ETags with rate-limit-free 304s, `x-ratelimit-*` accounting;
 * - workflow files: `.github/workflows/` changes need the `workflow` scope / `workflows: write`, on
 *   REST (404) and on `git push` (`! [remote rejected] … (refusing to allow …)`);
 * - webhooks: `fake.webhooks.*` builds payloads from this state, `deliverWebhook` sends them signed.
 *
 *   const fake = await startFakeGitHub();
 *   await fake.addRepo({ owner: 'acme', name: 'app', private: true, files: { 'README.md': '# app\n' } });
 *   const octokit = new Octokit({ auth: DEFAULT_FAKE_GITHUB_TOKEN, baseUrl: fake.apiUrl });
 *   // git clone: fake.cloneUrl('acme', 'app') with env gitAuthEnv(DEFAULT_FAKE_GITHUB_TOKEN)
 *   await fake.close();
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dispatcher } from './github/dispatch.js';
import {
  commitTree,
  hashObject,
  initBareRepo,
  listRefs,
  resolveRef,
  runGit,
  type TreeEntry,
  updateRef,
  writeTree,
} from './github/git.js';
import { installReceiveHook } from './github/receive-hook.js';
import { addCheckRunRecord, addStatusRecord, checkRunSnapshots, updateCheckRunRecord } from './github/rest-checks.js';
import { closePullRecord, mergePullRecord } from './github/rest-pulls.js';
import {
  addIssueCommentRecord,
  addReviewCommentRecord,
  addReviewRecord,
  issueCommentSnapshot,
  reviewCommentSnapshot,
  reviewSnapshots,
} from './github/rest-reviews.js';
import { FakeState, type RepoRecord } from './github/state.js';
import {
  type AddRepoOptions,
  type CheckRunSpec,
  type CheckRunUpdate,
  DEFAULT_FAKE_GITHUB_TOKEN,
  type FailRule,
  type FakeCheckRun,
  type FakeGitHubOptions,
  type FakeIssueComment,
  type FakePull,
  type FakeReview,
  type FakeReviewComment,
  type FakeStatus,
  type GitRequestRecord,
  type IssueCommentSpec,
  type MergePullOptions,
  type MintedTokenRecord,
  type RecordedRequest,
  type RepoRole,
  type RepoSettings,
  type ReviewCommentSpec,
  type ReviewSpec,
  type StatusSpec,
  type TokenInfo,
} from './github/types.js';
import { WebhookBuilders } from './github/webhooks.js';

export type {
  ActionsJobSpec,
  AddRepoOptions,
  AuthorAssociation,
  CheckConclusion,
  CheckOutput,
  CheckRunSpec,
  CheckRunUpdate,
  CheckStatus,
  CommitState,
  FailRule,
  FakeAppOptions,
  FakeCheckRun,
  FakeGitHubOptions,
  FakeIssueComment,
  FakePull,
  FakeReview,
  FakeReviewComment,
  FakeStatus,
  FakeUserRef,
  GitRequestRecord,
  IssueCommentSpec,
  MergePullOptions,
  RecordedRequest,
  RepoFile,
  RepoRole,
  RepoSettings,
  ReviewCommentPlacement,
  ReviewCommentSpec,
  ReviewSpec,
  ReviewState,
  StatusSpec,
  TokenInfo,
} from './github/types.js';
export { DEFAULT_FAKE_GITHUB_TOKEN } from './github/types.js';
export type { BuiltWebhook, WebhookDelivery, WebhookOptions, WebhookResult } from './github/webhooks.js';
export { deliverWebhook, WebhookBuilders, webhookSignature256 } from './github/webhooks.js';

/** The header value git needs for a token: `Basic base64(x-access-token:<token>)`. */
export function basicAuthorization(token: string): string {
  return `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
}

/**
 * Environment for a git client talking to the fake: the token as an `http.extraHeader` via
 * `GIT_CONFIG_*` (kept out of argv and `.git/config`), no prompts, no system/global config.
 */
export function gitAuthEnv(token?: string): Record<string, string> {
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  if (token !== undefined) {
    Object.assign(env, {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: ${basicAuthorization(token)}`,
    });
  }
  return env;
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const rootDir = await mkdtemp(join(tmpdir(), 'fake-github-'));
  const fake = new FakeGitHub(rootDir, options);
  await fake.listen();
  return fake;
}

const INITIAL_DATE = '2024-01-01T00:00:00Z';

export class FakeGitHub {
  /** REST calls, oldest first (no token values are kept). */
  readonly requests: RecordedRequest[];
  /** git smart-HTTP calls, oldest first. */
  readonly gitRequests: GitRequestRecord[];
  /**
   * Payload builders for webhooks about the fake's own repos, PRs, checks, statuses, reviews and
   * comments; send them with `deliverWebhook`.
   *
   *   const hook = await fake.webhooks.checkRun('acme', 'app', run.id);
   *   await deliverWebhook(`${botUrl}/github/webhook`, { ...hook, secret: 'hush' });
   */
  readonly webhooks: WebhookBuilders;
  private readonly state: FakeState;
  private readonly dispatcher: Dispatcher;
  private readonly server: Server;

  /** Use `startFakeGitHub()`. */
  constructor(
    readonly rootDir: string,
    options: FakeGitHubOptions,
  ) {
    // A copy, so setAppPermissions never changes the caller's options object.
    this.state = new FakeState(rootDir, options.app && { ...options.app });
    const tokens = options.tokens ?? { [DEFAULT_FAKE_GITHUB_TOKEN]: { login: 'test-user', kind: 'user' } };
    for (const [token, info] of Object.entries(tokens)) this.state.tokens.set(token, { ...info });
    this.dispatcher = new Dispatcher(this.state, options.debug ?? false);
    this.requests = this.dispatcher.requests;
    this.gitRequests = this.dispatcher.gitRequests;
    this.server = createServer(this.dispatcher.listener);
    this.webhooks = new WebhookBuilders(this.state);
  }

  /** `http://127.0.0.1:<port>` — web and git URLs (`${serverUrl}/owner/repo.git`). */
  get serverUrl(): string {
    return this.state.serverUrl;
  }

  /** `http://127.0.0.1:<port>/api/v3` — Octokit `baseUrl` / `GITHUB_API_URL`, GHES style. */
  get apiUrl(): string {
    return `${this.state.serverUrl}/api/v3`;
  }

  /** @internal */
  async listen(): Promise<void> {
    await mkdir(this.state.reposRoot, { recursive: true });
    await mkdir(this.state.scratchDir, { recursive: true });
    await installReceiveHook(this.state.hooksDir);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.state.serverUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops the server (dropping open connections) and deletes every repository. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await rm(this.rootDir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---- repositories & tokens -------------------------------------------------------------------

  /** Creates a bare repo with one commit holding `files` on the default branch; returns its sha. */
  async addRepo(spec: AddRepoOptions): Promise<string> {
    const { owner, name } = spec;
    if (!/^[\w.-]+$/.test(owner) || !/^[\w.-]+$/.test(name) || name.endsWith('.git')) {
      throw new Error(`invalid repo name ${owner}/${name}`);
    }
    if (this.state.findRepo(owner, name)) throw new Error(`repo ${owner}/${name} already exists`);
    const defaultBranch = spec.defaultBranch ?? 'main';
    const gitDir = join(this.state.reposRoot, owner, `${name}.git`);
    await initBareRepo(gitDir, defaultBranch);
    const entries = new Map<string, TreeEntry>();
    for (const [path, file] of Object.entries(spec.files ?? { 'README.md': `# ${name}\n` })) {
      const content = typeof file === 'string' || file instanceof Uint8Array ? file : file.content;
      const mode = typeof file === 'string' || file instanceof Uint8Array ? '100644' : file.mode;
      entries.set(path.replace(/^\/+/, ''), { mode, type: 'blob', sha: await hashObject(gitDir, content) });
    }
    const tree = await writeTree(gitDir, this.state.scratchDir, entries);
    const author = { name: 'Fake GitHub', email: 'noreply@github.invalid', date: INITIAL_DATE };
    const sha = await commitTree(gitDir, { tree, parents: [], message: spec.message ?? 'Initial commit', author });
    await updateRef(gitDir, `refs/heads/${defaultBranch}`, sha, null);
    this.state.addRepoRecord({
      id: this.state.newId(),
      owner,
      name,
      gitDir,
      defaultBranch,
      private: spec.private ?? false,
      archived: spec.archived ?? false,
      pushAllowed: spec.pushAllowed ?? true,
      createdAt: INITIAL_DATE,
      pulls: [],
      checkRuns: [],
      checkSuites: [],
      statuses: [],
      jobLogs: new Map(),
      reviews: [],
      reviewComments: [],
      issueComments: [],
      collaborators: new Map(),
    });
    return sha;
  }

  /** Flips visibility / archived / push permission / default branch of an existing repo. */
  async updateRepo(owner: string, name: string, settings: RepoSettings): Promise<void> {
    const repo = this.state.requireRepo(owner, name);
    if (settings.defaultBranch !== undefined) {
      await runGit(['symbolic-ref', 'HEAD', `refs/heads/${settings.defaultBranch}`], { gitDir: repo.gitDir });
      repo.defaultBranch = settings.defaultBranch;
    }
    if (settings.private !== undefined) repo.private = settings.private;
    if (settings.archived !== undefined) repo.archived = settings.archived;
    if (settings.pushAllowed !== undefined) repo.pushAllowed = settings.pushAllowed;
  }

  addToken(token: string, info: TokenInfo): void {
    this.state.tokens.set(token, { ...info });
  }

  /** Makes a token answer 401 from now on (an expired installation token). */
  expireToken(token: string): void {
    const info = this.state.tokens.get(token);
    if (info) info.expiresAt = new Date(0);
  }

  /** Expires every installation token minted so far (the 1 h lifetime is over), without exposing them. */
  expireInstallationTokens(): void {
    for (const info of this.state.tokens.values()) if (info.kind === 'installation') info.expiresAt = new Date(0);
  }

  /**
   * Every installation-token mint so far (what it asked for, what it got, or why it was refused); the
   * tokens themselves are not kept.
   *
   *   expect(fake.mintedTokens().at(-1)?.requestedPermissions).toEqual({ contents: 'write', workflows: 'write' });
   */
  mintedTokens(): MintedTokenRecord[] {
    return structuredClone(this.state.mintedTokens);
  }

  /**
   * Changes what the App installation was granted (as when an owner accepts new permissions); later
   * mints asking for more are refused with 422, like GitHub's.
   */
  setAppPermissions(permissions: Record<string, string>): void {
    if (!this.state.app) throw new Error('the fake has no `app` option');
    this.state.app.permissions = { ...permissions };
  }

  /** The App installation id for an owner (owners get 1, 2, … in the order their first repo was added). */
  installationId(owner: string): number | undefined {
    return this.state.installationFor(owner);
  }

  cloneUrl(owner: string, name: string): string {
    const repo = this.state.requireRepo(owner, name);
    return `${this.serverUrl}/${repo.owner}/${repo.name}.git`;
  }

  /** Path of the bare repository, for ad-hoc git assertions. */
  repoDir(owner: string, name: string): string {
    return this.state.requireRepo(owner, name).gitDir;
  }

  // ---- checks, statuses, Actions jobs ----------------------------------------------------------

  /**
   * Adds a check run on a commit (creating its check suite). With `actions`, it is a GitHub Actions
   * job: its id is the job id, `html_url`/`details_url` point at `…/actions/runs/<run>/job/<job>`, and
   * `GET …/actions/jobs/<id>` and `…/logs` answer for it.
   *
   *   const run = await fake.addCheckRun('acme', 'app', { sha, name: 'test', actions: { log: 'boom
' } });
   *   fake.updateCheckRun('acme', 'app', run.id, { conclusion: 'failure', output: { title: '1 failed' } });
   */
  addCheckRun(owner: string, name: string, spec: CheckRunSpec): Promise<FakeCheckRun> {
    return addCheckRunRecord(this.state, this.state.requireRepo(owner, name), spec);
  }

  /** Changes a check run: status/conclusion (a conclusion implies `completed`), output, details URL, job log. */
  updateCheckRun(owner: string, name: string, id: number, update: CheckRunUpdate): FakeCheckRun {
    return updateCheckRunRecord(this.state, this.state.requireRepo(owner, name), id, update);
  }

  /** Snapshots of every check run of the repo, oldest first. */
  checkRuns(owner: string, name: string): FakeCheckRun[] {
    return checkRunSnapshots(this.state, this.state.requireRepo(owner, name));
  }

  /** Sets (or replaces) the plain-text log of an Actions job. */
  setJobLog(owner: string, name: string, jobId: number, text: string): void {
    updateCheckRunRecord(this.state, this.state.requireRepo(owner, name), jobId, { log: text });
  }

  /** Adds a commit status (the Statuses API); the newest per context counts for the combined state. */
  addStatus(owner: string, name: string, spec: StatusSpec): Promise<FakeStatus> {
    return addStatusRecord(this.state, this.state.requireRepo(owner, name), spec);
  }

  // ---- reviews, comments, collaborators --------------------------------------------------------

  /**
   * Someone submits a review on PR `number`, optionally with inline comments.
   *
   *   await fake.addReview('acme', 'app', 1, { user: 'alice', state: 'CHANGES_REQUESTED', body: 'Almost',
   *     comments: [{ path: 'src/a.ts', line: 3, body: 'Rename this' }] });
   */
  addReview(owner: string, name: string, number: number, spec: ReviewSpec): Promise<FakeReview> {
    return addReviewRecord(this.state, this.state.requireRepo(owner, name), number, spec);
  }

  /** Someone adds one review comment (or, with `inReplyTo`, a reply in a thread) on PR `number`. */
  addReviewComment(owner: string, name: string, number: number, spec: ReviewCommentSpec): Promise<FakeReviewComment> {
    return addReviewCommentRecord(this.state, this.state.requireRepo(owner, name), number, spec);
  }

  /** Someone comments on the conversation of PR `number` (an issue comment). */
  addIssueComment(owner: string, name: string, number: number, spec: IssueCommentSpec): FakeIssueComment {
    return addIssueCommentRecord(this.state, this.state.requireRepo(owner, name), number, spec);
  }

  /** Gives `login` a role on the repo (`null` removes it); drives `…/collaborators/{login}/permission`. */
  setCollaborator(owner: string, name: string, login: string, role: RepoRole | null): void {
    const repo = this.state.requireRepo(owner, name);
    if (role === null) repo.collaborators.delete(login.toLowerCase());
    else repo.collaborators.set(login.toLowerCase(), { login, role });
  }

  /** Reviews of PR `number`, oldest first. */
  reviews(owner: string, name: string, number: number): FakeReview[] {
    return reviewSnapshots(this.state.requireRepo(owner, name), number);
  }

  /** Review comments of PR `number` (including the bot's replies), oldest first. */
  reviewComments(owner: string, name: string, number: number): FakeReviewComment[] {
    const repo = this.state.requireRepo(owner, name);
    return repo.reviewComments.filter((c) => c.pullNumber === number).map(reviewCommentSnapshot);
  }

  /** Conversation comments of PR `number` (including the bot's), oldest first. */
  issueComments(owner: string, name: string, number: number): FakeIssueComment[] {
    const repo = this.state.requireRepo(owner, name);
    return repo.issueComments.filter((c) => c.number === number).map((c) => issueCommentSnapshot(this.state, c));
  }

  // ---- fault injection -------------------------------------------------------------------------

  /** The next matching request(s) (REST or git) get `status` instead of being served. */
  failNext(rule: FailRule): void {
    this.dispatcher.failures.push({ rule, remaining: rule.times ?? 1 });
  }

  clearFailures(): void {
    this.dispatcher.failures.length = 0;
  }

  // ---- assertions helpers ----------------------------------------------------------------------

  /** File content at `ref` (branch, `heads/x`, sha); `undefined` when absent. */
  async readFile(owner: string, name: string, ref: string, path: string): Promise<string | undefined> {
    const repo = this.state.requireRepo(owner, name);
    const result = await runGit(['cat-file', 'blob', `${ref}:${path}`], { gitDir: repo.gitDir, allowFail: true });
    return result.code === 0 ? result.stdout.toString('utf8') : undefined;
  }

  /** Sha of `heads/x`, `refs/heads/x` or a bare branch name `x`; `undefined` when absent. */
  async refSha(owner: string, name: string, ref: string): Promise<string | undefined> {
    const repo = this.state.requireRepo(owner, name);
    const full = ref.startsWith('refs/') ? ref : /^(heads|tags|pull)\//.test(ref) ? `refs/${ref}` : `refs/heads/${ref}`;
    return resolveRef(repo.gitDir, full);
  }

  /** Commit messages reachable from `ref`, newest first (trailing newlines trimmed). */
  async log(owner: string, name: string, ref: string, max = 100): Promise<string[]> {
    const repo = this.state.requireRepo(owner, name);
    const out = await runGit(['log', `--max-count=${max}`, '--format=%B%x00', ref, '--'], { gitDir: repo.gitDir });
    return out.stdout
      .toString('utf8')
      .split('\0')
      .map((message) => message.replace(/^\n/, '').trimEnd())
      .slice(0, -1);
  }

  /** Branch names, sorted. */
  async branches(owner: string, name: string): Promise<string[]> {
    const repo = this.state.requireRepo(owner, name);
    return [...(await listRefs(repo.gitDir, 'refs/heads/')).keys()]
      .map((ref) => ref.slice('refs/heads/'.length))
      .sort();
  }

  /** Snapshot of the repo's pull requests, by number. */
  pulls(owner: string, name: string): FakePull[] {
    return structuredClone(this.state.requireRepo(owner, name).pulls);
  }

  /** A person merges the PR (real merge commit on the base branch); returns the merge commit sha. */
  mergePull(owner: string, name: string, number: number, options?: MergePullOptions): Promise<string> {
    const repo = this.state.requireRepo(owner, name);
    return mergePullRecord(repo, this.pullRecord(repo, number), options);
  }

  /** A person closes the PR without merging. */
  closePull(owner: string, name: string, number: number): void {
    const repo = this.state.requireRepo(owner, name);
    closePullRecord(repo, this.pullRecord(repo, number));
  }

  /** Successful `info/refs?service=git-upload-pack` answers (one per clone or fetch). */
  clones(owner: string, name: string): number {
    return this.countGit(owner, name, (r) => r.endpoint === 'info/refs' && r.service === 'git-upload-pack');
  }

  /**
   * Successful `info/refs?service=git-receive-pack` answers (one per `git push`; counting the POSTs
   * would not work: git sends an extra tiny probe POST before a chunked upload of a big pack).
   */
  pushes(owner: string, name: string): number {
    return this.countGit(owner, name, (r) => r.endpoint === 'info/refs' && r.service === 'git-receive-pack');
  }

  private countGit(owner: string, name: string, predicate: (r: GitRequestRecord) => boolean): number {
    const repo = `${owner}/${name}`.toLowerCase();
    return this.gitRequests.filter((r) => r.repo.toLowerCase() === repo && r.status === 200 && predicate(r)).length;
  }

  private pullRecord(repo: RepoRecord, number: number): FakePull {
    const pull = repo.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new Error(`no pull request #${number} in ${repo.owner}/${repo.name}`);
    return pull;
  }
}
