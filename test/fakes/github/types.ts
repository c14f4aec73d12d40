import type { KeyObject } from 'node:crypto';

/** The token every fake accepts unless `options.tokens` says otherwise (a user token, all repos). */
export const DEFAULT_FAKE_GITHUB_TOKEN = 'ghp_test_token_0123456789';

export const DOCS_URL = 'https://docs.github.com/rest';

export interface TokenInfo {
  login: string;
  kind: 'user' | 'installation';
  /** `owner/name` full names this token can see (case-insensitive); every repo when absent. */
  repos?: string[];
  /**
   * Installation or fine-grained-token permissions, e.g. `{contents: 'write'}`; when given, pushing needs
   * `contents: 'write'`, touching `.github/workflows/` needs `workflows: 'write'`, and private-repo reads
   * need the matching read permission (`checks`, `statuses`, `actions`, `pull_requests`, `issues`, `contents`).
   */
  permissions?: Record<string, string>;
  /**
   * A classic token's OAuth scopes, e.g. `['repo', 'workflow']`: answered as `X-OAuth-Scopes` on every
   * response, and touching `.github/workflows/` needs `workflow`. A user token with neither `scopes` nor
   * `permissions` is unrestricted (and sends no `X-OAuth-Scopes`).
   */
  scopes?: string[];
  /** A classic token that an OAuth App holds (`gho_…`) rather than a personal access token; only changes refusal wording. */
  oauthApp?: boolean;
  /** Display name answered by `GET /user`. */
  name?: string;
  /** After this instant the token answers 401 (like an installation token after 1 h). */
  expiresAt?: Date;
}

export interface FakeAppOptions {
  /** The App id; a JWT's `iss` must equal it (compared as strings, so a client id string also works). */
  id: number | string;
  /** Bot login is `<slug>[bot]`. Default `fake-app`. */
  slug?: string;
  /** PEM (SPKI) or KeyObject; when given, JWT signatures are verified (RS256). */
  publicKey?: string | KeyObject;
  /** Owners the App is installed on; every owner when absent. */
  installedOn?: string[];
  /**
   * What the installation was granted (a mint asking for more is refused with 422). Default
   * `{contents: 'write', pull_requests: 'write', metadata: 'read'}`; add `workflows: 'write'` to let its
   * tokens touch `.github/workflows/`.
   */
  permissions?: Record<string, string>;
  /** Display name for `GET /app`. Default: the slug. */
  name?: string;
  /** Login of the account that owns the App. Default `fake-app-owner`. */
  owner?: string;
  /** Webhook events the App subscribes to (`GET /app`). */
  events?: string[];
}

/** One `POST /app/installations/{id}/access_tokens` (the token itself is never kept). */
export interface MintedTokenRecord {
  installationId: number;
  /** Lower-case owner login of the installation. */
  owner: string;
  /** The `permissions` the mint asked for; `undefined` = everything the installation has. */
  requestedPermissions?: Record<string, string>;
  /** The `repositories`/`repository_ids` it asked for; `undefined` = all of the installation's. */
  requestedRepositories?: (string | number)[];
  /** What the token got (empty when refused). */
  permissions: Record<string, string>;
  /** Full names the token may see (empty when refused). */
  repositories: string[];
  /** Set when GitHub would refuse the mint (422), e.g. a permission the App was not granted. */
  refused?: string;
  /** ISO 8601. */
  at: string;
}

export interface FakeGitHubOptions {
  /** token → identity. Default: `{ [DEFAULT_FAKE_GITHUB_TOKEN]: { login: 'test-user', kind: 'user' } }`. */
  tokens?: Record<string, TokenInfo>;
  /** Enables the GitHub App endpoints (JWT → installation → access token). */
  app?: FakeAppOptions;
  /** Log every request (method, path, status) to stderr. */
  debug?: boolean;
}

export type RepoFile = string | Uint8Array | { content: string | Uint8Array; mode: '100644' | '100755' | '120000' };

export interface AddRepoOptions {
  owner: string;
  name: string;
  /** Default `main`. */
  defaultBranch?: string;
  private?: boolean;
  archived?: boolean;
  /** `permissions.push` for every token; false makes REST ref writes 403 and git pushes fail. Default true. */
  pushAllowed?: boolean;
  /** Contents of the initial commit on the default branch. Default `{'README.md': '# <name>\n'}`. */
  files?: Record<string, RepoFile>;
  /** Initial commit message. Default `Initial commit`. */
  message?: string;
}

export type RepoSettings = Partial<Pick<AddRepoOptions, 'private' | 'archived' | 'pushAllowed' | 'defaultBranch'>>;

export interface FailRule {
  /** Only requests with this method (case-insensitive). */
  method?: string;
  /** Only requests whose decoded path (e.g. `/repos/o/r/git/refs`, `/o/r.git/info/refs`) contains this. */
  pathIncludes?: string;
  status: number;
  /** JSON body. Default `{message: <status text>}`. */
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail. Default 1. */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path without the `/api/v3` prefix, e.g. `/repos/acme/app/git/ref/heads/ai-dev/T1`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, if any. */
  body: unknown;
  /** Whether an Authorization header was sent (its value is never kept). */
  authPresent: boolean;
  authScheme?: 'token' | 'bearer' | 'basic' | 'other';
  /** Login of the token, when it was valid. */
  login?: string;
  /** Response status (0 while in flight). */
  status: number;
  /** Answered by a `failNext` rule. */
  injected: boolean;
}

export interface GitRequestRecord {
  method: string;
  /** `owner/name` as requested. */
  repo: string;
  endpoint: 'info/refs' | 'git-upload-pack' | 'git-receive-pack';
  service: 'git-upload-pack' | 'git-receive-pack' | undefined;
  authPresent: boolean;
  login?: string;
  status: number;
  injected: boolean;
}

export interface MergePullOptions {
  /** `merge` (default) writes a two-parent merge commit; `squash` a single-parent commit. */
  method?: 'merge' | 'squash';
  /** Delete the head branch afterwards (as the "Delete branch" button does). */
  deleteBranch?: boolean;
  /** Who merged (recorded as committer). */
  login?: string;
}

/** A pull request as the fake stores it (returned by `fake.pulls()`). */
export interface FakePull {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergeCommitSha: string | null;
  closedAt: string | null;
  createdAt: string;
  updatedAt: string;
  headRef: string;
  /** Last head sha seen (kept after the branch is deleted). */
  headSha: string;
  baseRef: string;
  /** Login of the token that opened it. */
  user: string;
}

// ---- checks, statuses, Actions jobs ------------------------------------------------------------

export type CheckStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type CheckConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';

export interface CheckOutput {
  title?: string | null;
  summary?: string | null;
  text?: string | null;
}

export interface ActionsJobSpec {
  /** The job id, which on GitHub is also the check run's id. Default: a fresh id. */
  jobId?: number;
  /** The workflow run id. Default: a fresh id (runs sharing an id share a check suite). */
  runId?: number;
  workflowName?: string;
  /** The job's plain-text log (`GET …/actions/jobs/{id}/logs`); also settable later with `setJobLog`. */
  log?: string;
  steps?: { name: string; status?: 'queued' | 'in_progress' | 'completed'; conclusion?: string | null }[];
}

export interface CheckRunSpec {
  /** A commit sha, or a branch/tag name resolved when the run is added. */
  sha: string;
  name: string;
  /** Default `completed` when `conclusion` is given, else `queued`. */
  status?: CheckStatus;
  conclusion?: CheckConclusion | null;
  output?: CheckOutput;
  /** A GitHub Actions job (App `github-actions`): `true` or the job's details. */
  actions?: ActionsJobSpec | boolean;
  /** Another App's check run (default when not `actions`: App `fake-ci`). */
  app?: { slug: string; id?: number; name?: string };
  detailsUrl?: string;
  externalId?: string;
  /** ISO 8601; default now. */
  startedAt?: string;
  completedAt?: string;
}

export interface CheckRunUpdate {
  status?: CheckStatus;
  conclusion?: CheckConclusion | null;
  output?: CheckOutput;
  completedAt?: string;
  detailsUrl?: string;
  /** Replaces the Actions job's log. */
  log?: string;
}

/** What `addCheckRun`/`updateCheckRun` return (a snapshot). */
export interface FakeCheckRun {
  id: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  suiteId: number;
  appSlug: string;
  /** Set for GitHub Actions runs (equal to `id`). */
  jobId?: number;
  runId?: number;
  htmlUrl: string;
  detailsUrl: string | null;
}

export type CommitState = 'error' | 'failure' | 'pending' | 'success';

export interface StatusSpec {
  /** A commit sha, or a branch/tag name resolved when the status is added. */
  sha: string;
  state: CommitState;
  /** Default `default`, like GitHub's. */
  context?: string;
  description?: string | null;
  targetUrl?: string | null;
  /** Login of who set it. Default `ci-bot`. */
  creator?: string;
}

export interface FakeStatus {
  id: number;
  sha: string;
  state: CommitState;
  context: string;
}

// ---- reviews, comments, collaborators ----------------------------------------------------------

export type AuthorAssociation =
  | 'OWNER'
  | 'MEMBER'
  | 'COLLABORATOR'
  | 'CONTRIBUTOR'
  | 'FIRST_TIME_CONTRIBUTOR'
  | 'FIRST_TIMER'
  | 'MANNEQUIN'
  | 'NONE';

export type ReviewState = 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';

/** A repository role, as `role_name` names it. */
export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

/** A person or bot; a bare login ending in `[bot]` is a `Bot`. */
export type FakeUserRef = string | { login: string; type?: 'User' | 'Bot' };

export interface ReviewCommentPlacement {
  path: string;
  /** The (last) line commented on; absent = a file-level comment. */
  line?: number;
  /** First line of a multi-line comment. */
  startLine?: number;
  /** Default `RIGHT`. */
  side?: 'LEFT' | 'RIGHT';
}

export interface ReviewSpec {
  user: FakeUserRef;
  state: ReviewState;
  body?: string;
  /** Default: `OWNER` for the repo owner, `COLLABORATOR` for collaborators, else `NONE`. */
  association?: AuthorAssociation;
  /** Default: the PR's head sha now. */
  commitId?: string;
  /** Inline comments submitted with the review. */
  comments?: (ReviewCommentPlacement & { body: string })[];
}

export interface ReviewCommentSpec extends Partial<ReviewCommentPlacement> {
  user: FakeUserRef;
  body: string;
  association?: AuthorAssociation;
  /** Reply to this review comment (placement is taken from the thread). */
  inReplyTo?: number;
}

export interface IssueCommentSpec {
  user: FakeUserRef;
  body: string;
  association?: AuthorAssociation;
}

export interface FakeReview {
  id: number;
  pullNumber: number;
  user: string;
  state: ReviewState;
  body: string;
  commitId: string;
  association: AuthorAssociation;
  /** Ids of the inline comments submitted with it. */
  commentIds: number[];
}

export interface FakeReviewComment {
  id: number;
  pullNumber: number;
  reviewId: number;
  user: string;
  body: string;
  path: string;
  line: number | null;
  inReplyToId?: number;
  association: AuthorAssociation;
}

export interface FakeIssueComment {
  id: number;
  number: number;
  user: string;
  body: string;
  association: AuthorAssociation;
  /** Set when an App installation token posted it. */
  viaApp?: string;
}
