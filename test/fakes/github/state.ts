import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { apiError, notFound } from './http.js';
import type {
  AuthorAssociation,
  CheckConclusion,
  CheckOutput,
  CheckStatus,
  CommitState,
  FakeAppOptions,
  FakePull,
  MintedTokenRecord,
  RepoRole,
  ReviewState,
  TokenInfo,
} from './types.js';

export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  gitDir: string;
  defaultBranch: string;
  private: boolean;
  archived: boolean;
  pushAllowed: boolean;
  createdAt: string;
  pulls: FakePull[];
  checkRuns: CheckRunRecord[];
  checkSuites: CheckSuiteRecord[];
  statuses: StatusRecord[];
  /** Actions job id → plain-text log. */
  jobLogs: Map<number, string>;
  reviews: ReviewRecord[];
  reviewComments: ReviewCommentRecord[];
  issueComments: IssueCommentRecord[];
  /** lower-case login → role. */
  collaborators: Map<string, { login: string; role: RepoRole }>;
}

export interface UserRef {
  login: string;
  type: 'User' | 'Bot';
}

export interface ReviewRecord {
  id: number;
  pullNumber: number;
  user: UserRef;
  state: ReviewState;
  body: string;
  commitId: string;
  association: AuthorAssociation;
  submittedAt: string;
}

export interface ReviewCommentRecord {
  id: number;
  pullNumber: number;
  reviewId: number;
  user: UserRef;
  body: string;
  path: string;
  line: number | null;
  startLine: number | null;
  side: 'LEFT' | 'RIGHT';
  commitId: string;
  diffHunk: string;
  inReplyToId?: number;
  association: AuthorAssociation;
  createdAt: string;
}

export interface IssueCommentRecord {
  id: number;
  number: number;
  user: UserRef;
  body: string;
  association: AuthorAssociation;
  viaApp: boolean;
  createdAt: string;
}

export interface AppRef {
  id: number;
  slug: string;
  name: string;
}

export interface CheckRunRecord {
  id: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion | null;
  output: Required<CheckOutput>;
  app: AppRef;
  suiteId: number;
  externalId: string;
  detailsUrl: string | null;
  startedAt: string;
  completedAt: string | null;
  /** GitHub Actions only. */
  job?: {
    runId: number;
    workflowName: string;
    steps: { name: string; status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null }[];
    createdAt: string;
  };
}

export interface CheckSuiteRecord {
  id: number;
  headSha: string;
  headBranch: string | null;
  app: AppRef;
  /** Actions: the workflow run id (one suite per run). */
  runId?: number;
  createdAt: string;
}

export interface StatusRecord {
  id: number;
  sha: string;
  state: CommitState;
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
}

/** The caller behind a valid token (never holds the token itself). */
export interface Caller {
  login: string;
  /** `app` = a verified App JWT (only the App endpoints accept it). */
  kind: 'user' | 'installation' | 'app';
  repos?: Set<string>;
  permissions?: Record<string, string>;
  /** Classic-token scopes (see `TokenInfo.scopes`). */
  scopes?: string[];
  oauthApp?: boolean;
  name?: string;
  /** A hash of the credential: GitHub's ETags differ per token, so a new token misses the old ETags. */
  credentialKey: string;
}

/** What every REST handler gets. */
export interface RestContext {
  state: FakeState;
  caller: Caller;
  body: unknown;
  query: URLSearchParams;
  /** Request headers (lower-case names), e.g. `accept`. */
  headers: Record<string, string | string[] | undefined>;
}

/** What the fake's own unauthenticated URLs (`/_fake/…`) get. */
export interface InternalContext {
  state: FakeState;
  body: Buffer;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

export const credentialKey = (credential: string) => createHash('sha256').update(credential).digest('hex').slice(0, 16);

const LEVELS: Record<string, number> = { none: 0, read: 1, write: 2, admin: 3 };

/** Whether a permission map grants at least `level` of `permission`. */
export function grants(permissions: Record<string, string>, permission: string, level: 'read' | 'write'): boolean {
  return (LEVELS[permissions[permission] ?? 'none'] ?? 0) >= (LEVELS[level] ?? 0);
}

/** GitHub's 403 for a token that lacks a permission: `Resource not accessible by integration|personal access token`. */
export function notAccessible(caller: Caller) {
  return apiError(
    403,
    `Resource not accessible by ${caller.kind === 'installation' ? 'integration' : 'personal access token'}`,
  );
}

const key = (owner: string, name: string) => `${owner}/${name}`.toLowerCase();

export const fullName = (repo: RepoRecord) => `${repo.owner}/${repo.name}`;

/** Everything the REST and git handlers share. */
export class FakeState {
  readonly repos = new Map<string, RepoRecord>();
  readonly tokens = new Map<string, TokenInfo>();
  readonly installations = new Map<string, number>();
  /** Every installation-token mint, oldest first. */
  readonly mintedTokens: MintedTokenRecord[] = [];
  private readonly userIds = new Map<string, number>();
  serverUrl = '';
  private nextId = 1000;

  constructor(
    readonly rootDir: string,
    readonly app: FakeAppOptions | undefined,
  ) {}

  get reposRoot(): string {
    return join(this.rootDir, 'repos');
  }

  get scratchDir(): string {
    return join(this.rootDir, 'scratch');
  }

  /** git hooks for pushes (see receive-hook.ts). */
  get hooksDir(): string {
    return join(this.rootDir, 'hooks');
  }

  newId(): number {
    this.nextId += 1;
    return this.nextId;
  }

  findRepo(owner: string, name: string): RepoRecord | undefined {
    return this.repos.get(key(owner, name));
  }

  requireRepo(owner: string, name: string): RepoRecord {
    const repo = this.findRepo(owner, name);
    if (!repo) throw new Error(`fake GitHub has no repo ${owner}/${name}`);
    return repo;
  }

  addRepoRecord(repo: RepoRecord): void {
    this.repos.set(key(repo.owner, repo.name), repo);
    const owner = repo.owner.toLowerCase();
    if (!this.installations.has(owner)) this.installations.set(owner, this.installations.size + 1);
  }

  /** A valid, unexpired token → its caller. */
  caller(token: string): Caller | undefined {
    const info = this.tokens.get(token);
    if (!info || (info.expiresAt && info.expiresAt.getTime() <= Date.now())) return undefined;
    return {
      login: info.login,
      kind: info.kind,
      repos: info.repos ? new Set(info.repos.map((name) => name.toLowerCase())) : undefined,
      permissions: info.permissions,
      scopes: info.scopes,
      oauthApp: info.oauthApp,
      name: info.name,
      credentialKey: credentialKey(token),
    };
  }

  /**
   * Reads on a private repo need the matching read permission when the token carries permissions
   * (installation and fine-grained tokens); public repos are readable by anyone (unverified for tokens
   * whose permissions omit the area).
   */
  assertCanRead(caller: Caller, repo: RepoRecord, permission: string): void {
    if (caller.permissions && repo.private && !grants(caller.permissions, permission, 'read')) {
      throw notAccessible(caller);
    }
  }

  /** A stable id per login (users, bots and orgs share the space, like GitHub's). */
  userId(login: string): number {
    const lower = login.toLowerCase();
    let id = this.userIds.get(lower);
    if (id === undefined) {
      id = 500 + this.userIds.size;
      this.userIds.set(lower, id);
    }
    return id;
  }

  /** GitHub's `simple-user` object; logins ending in `[bot]` are `Bot`s. */
  userJson(login: string, type?: 'User' | 'Bot' | 'Organization') {
    const id = this.userId(login);
    const kind: 'User' | 'Bot' | 'Organization' = type ?? (login.endsWith('[bot]') ? 'Bot' : 'User');
    const api = `${this.serverUrl}/api/v3/users/${encodeURIComponent(login)}`;
    const html =
      kind === 'Bot' ? `${this.serverUrl}/apps/${login.replace(/\[bot\]$/, '')}` : `${this.serverUrl}/${login}`;
    return {
      login,
      id,
      node_id: Buffer.from(`${kind}${id}`).toString('base64'),
      avatar_url: `${this.serverUrl}/avatars/u/${id}?v=4`,
      gravatar_id: '',
      url: api,
      html_url: html,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: kind,
      user_view_type: 'public',
      site_admin: false,
    };
  }

  canSee(caller: Caller | undefined, repo: RepoRecord): boolean {
    if (!caller) return !repo.private;
    return !caller.repos || caller.repos.has(key(repo.owner, repo.name));
  }

  /** The role's push permission (ignores `archived`, like `permissions.push`). */
  hasPushRole(caller: Caller, repo: RepoRecord): boolean {
    if (!this.canSee(caller, repo) || !repo.pushAllowed) return false;
    return caller.permissions ? caller.permissions.contents === 'write' : true;
  }

  /** REST lookup honouring visibility: 404 for absent and invisible repos alike. */
  visibleRepo(caller: Caller, owner: string, name: string): RepoRecord {
    const repo = this.findRepo(owner, name);
    if (!repo || !this.canSee(caller, repo)) throw notFound();
    return repo;
  }

  /** REST write check: 403 for archived repos and callers without push. */
  assertCanWrite(caller: Caller, repo: RepoRecord): void {
    if (repo.archived) throw apiError(403, 'Repository was archived so is read-only.');
    if (!this.hasPushRole(caller, repo)) throw notAccessible(caller);
  }

  /** Installation tokens need `pull_requests: write` (when they carry permissions) to open or edit PRs. */
  assertCanWritePulls(caller: Caller, repo: RepoRecord): void {
    if (caller.permissions && !grants(caller.permissions, 'pull_requests', 'write')) throw notAccessible(caller);
    if (repo.archived) throw apiError(403, 'Repository was archived so is read-only.');
  }

  installationFor(owner: string): number | undefined {
    const installedOn = this.app?.installedOn;
    if (installedOn && !installedOn.some((name) => name.toLowerCase() === owner.toLowerCase())) return undefined;
    return this.installations.get(owner.toLowerCase());
  }

  ownerOfInstallation(id: number): string | undefined {
    for (const [owner, installation] of this.installations) {
      if (installation === id && this.installationFor(owner) === id) return owner;
    }
    return undefined;
  }

  /** GitHub's repository object (the REST `full-repository` / webhook `repository` shape). */
  repoJson(repo: RepoRecord, caller?: Caller) {
    const full = fullName(repo);
    const api = `${this.serverUrl}/api/v3/repos/${full}`;
    const html = `${this.serverUrl}/${full}`;
    const json = {
      id: repo.id,
      node_id: Buffer.from(`Repository${repo.id}`).toString('base64'),
      name: repo.name,
      full_name: full,
      private: repo.private,
      owner: this.userJson(repo.owner, 'Organization'),
      html_url: html,
      description: null,
      fork: false,
      url: api,
      forks_url: `${api}/forks`,
      keys_url: `${api}/keys{/key_id}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      teams_url: `${api}/teams`,
      hooks_url: `${api}/hooks`,
      issue_events_url: `${api}/issues/events{/number}`,
      events_url: `${api}/events`,
      assignees_url: `${api}/assignees{/user}`,
      branches_url: `${api}/branches{/branch}`,
      tags_url: `${api}/tags`,
      blobs_url: `${api}/git/blobs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      trees_url: `${api}/git/trees{/sha}`,
      statuses_url: `${api}/statuses/{sha}`,
      languages_url: `${api}/languages`,
      stargazers_url: `${api}/stargazers`,
      contributors_url: `${api}/contributors`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      commits_url: `${api}/commits{/sha}`,
      git_commits_url: `${api}/git/commits{/sha}`,
      comments_url: `${api}/comments{/number}`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      contents_url: `${api}/contents/{+path}`,
      compare_url: `${api}/compare/{base}...{head}`,
      merges_url: `${api}/merges`,
      archive_url: `${api}/{archive_format}{/ref}`,
      downloads_url: `${api}/downloads`,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      labels_url: `${api}/labels{/name}`,
      releases_url: `${api}/releases{/id}`,
      deployments_url: `${api}/deployments`,
      created_at: repo.createdAt,
      updated_at: repo.createdAt,
      pushed_at: repo.createdAt,
      git_url: `${html.replace(/^https?:/, 'git:')}.git`,
      ssh_url: `git@${new URL(this.serverUrl || 'http://127.0.0.1').host}:${full}.git`,
      clone_url: `${html}.git`,
      svn_url: html,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: true,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: repo.archived,
      disabled: false,
      open_issues_count: repo.pulls.filter((pull) => pull.state === 'open').length,
      license: null,
      allow_forking: true,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: (repo.private ? 'private' : 'public') as 'private' | 'public',
      forks: 0,
      open_issues: repo.pulls.filter((pull) => pull.state === 'open').length,
      watchers: 0,
      default_branch: repo.defaultBranch,
    };
    // Installation tokens get no `permissions` here (platform notes: unverified) — use the token's own.
    if (caller && caller.kind === 'user') {
      const push = this.hasPushRole(caller, repo);
      return { ...json, permissions: { admin: false, maintain: false, push, triage: push, pull: true } };
    }
    return json;
  }
}
