import { join } from 'node:path';
import { apiError, notFound } from './http.js';
import type { FakeAppOptions, FakePull, TokenInfo } from './types.js';

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
}

/** The caller behind a valid token (never holds the token itself). */
export interface Caller {
  login: string;
  /** `app` = a verified App JWT (only the App endpoints accept it). */
  kind: 'user' | 'installation' | 'app';
  repos?: Set<string>;
  permissions?: Record<string, string>;
}

/** What every REST handler gets. */
export interface RestContext {
  state: FakeState;
  caller: Caller;
  body: unknown;
  query: URLSearchParams;
}

const key = (owner: string, name: string) => `${owner}/${name}`.toLowerCase();

export const fullName = (repo: RepoRecord) => `${repo.owner}/${repo.name}`;

/** Everything the REST and git handlers share. */
export class FakeState {
  readonly repos = new Map<string, RepoRecord>();
  readonly tokens = new Map<string, TokenInfo>();
  readonly installations = new Map<string, number>();
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
    if (!this.hasPushRole(caller, repo)) {
      const who = caller.kind === 'installation' ? 'integration' : 'personal access token';
      throw apiError(403, `Resource not accessible by ${who}`);
    }
  }

  /** Installation tokens need `pull_requests: write` (when they carry permissions) to open or edit PRs. */
  assertCanWritePulls(caller: Caller, repo: RepoRecord): void {
    if (caller.permissions && caller.permissions.pull_requests !== 'write') {
      throw apiError(
        403,
        `Resource not accessible by ${caller.kind === 'installation' ? 'integration' : 'personal access token'}`,
      );
    }
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

  repoJson(repo: RepoRecord, caller?: Caller): Record<string, unknown> {
    const full = fullName(repo);
    const json: Record<string, unknown> = {
      id: repo.id,
      node_id: Buffer.from(`Repository${repo.id}`).toString('base64'),
      name: repo.name,
      full_name: full,
      owner: { login: repo.owner, id: 1, type: 'Organization' },
      private: repo.private,
      visibility: repo.private ? 'private' : 'public',
      fork: false,
      archived: repo.archived,
      disabled: false,
      default_branch: repo.defaultBranch,
      html_url: `${this.serverUrl}/${full}`,
      clone_url: `${this.serverUrl}/${full}.git`,
      url: `${this.serverUrl}/api/v3/repos/${full}`,
      created_at: repo.createdAt,
    };
    // Installation tokens get no `permissions` here (platform notes: unverified) — use the token's own.
    if (caller && caller.kind === 'user') {
      const push = this.hasPushRole(caller, repo);
      json.permissions = { admin: false, maintain: false, push, triage: push, pull: true };
    }
    return json;
  }
}
