import type { GitHubCredentials } from '../github/credentials.js';
import { parseRepoRef } from '../github/repo-ref.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import { cloneWorkspace, existingWorkspace, type Workspace } from '../sandbox/workspace.js';
import type { SandboxRegistry } from '../store/sandbox-registry.js';
import type { ThreadRepo } from '../store/thread-store.js';

export interface RunWorkspacesOptions {
  repos: ThreadRepo[];
  provider: SandboxProvider;
  credentials: GitHubCredentials;
  githubServerUrl: string;
  sandboxTimeoutMs: number;
  metadata: Record<string, string>;
  registry: SandboxRegistry;
  thread: { channel: string; threadTs: string };
  logger: Logger;
  signal: AbortSignal;
  /** Persists a change to one repo's entry (sandbox id, published head, PR). */
  saveRepo: (entry: ThreadRepo) => Promise<void>;
  onReady: (repo: string, sandboxId: string, reused: boolean, note: string | undefined) => void;
}

/**
 * The sandboxes of one run, prepared lazily per repo (the first repo eagerly, in parallel with
 * the first model request) and shared by all tool calls of the run.
 */
export class RunWorkspaces {
  private readonly pending = new Map<string, Promise<Workspace>>();
  /** When this run started holding each sandbox (create or connect began), for sandbox time. */
  private readonly heldSince = new Map<string, number>();

  constructor(private readonly options: RunWorkspacesOptions) {}

  /** Starts preparing a repo's workspace without waiting for it. */
  warm(repo: string): void {
    this.workspace(repo).catch(() => {
      // The tool call that needs it will see the error.
    });
  }

  prepared(): Promise<Workspace>[] {
    return [...this.pending.values()];
  }

  entry(name: string | null | undefined): ThreadRepo {
    const repos = this.options.repos;
    if (!name) {
      if (repos.length === 1 && repos[0]) return repos[0];
      throw new Error(`Several repos are linked (${repos.map((r) => r.repo).join(', ')}); pass repo as owner/name.`);
    }
    const wanted = name.toLowerCase();
    const found =
      repos.find((r) => r.repo.toLowerCase() === wanted) ??
      repos.find((r) => r.repo.split('/')[1]?.toLowerCase() === wanted);
    if (!found)
      throw new Error(`${name} is not linked to this thread; linked: ${repos.map((r) => r.repo).join(', ')}.`);
    return found;
  }

  workspace(name: string | null | undefined): Promise<Workspace> {
    const entry = this.entry(name);
    let promise = this.pending.get(entry.repo);
    if (!promise) {
      promise = this.prepare(entry);
      this.pending.set(entry.repo, promise);
      // A failed preparation may be retried by the next tool call.
      promise.catch(() => this.pending.delete(entry.repo));
    }
    return promise;
  }

  /** Ends this run's hold on its sandboxes: records their use; answers the sandbox time used. */
  async release(now = Date.now()): Promise<number> {
    let used = 0;
    for (const [sandboxId, since] of this.heldSince) {
      used += Math.max(0, now - since);
      await this.options.registry.touch(sandboxId, now).catch((error: unknown) => {
        this.options.logger.warn({ err: error, sandbox: sandboxId }, 'could not record sandbox use');
      });
    }
    this.heldSince.clear();
    return used;
  }

  private async prepare(entry: ThreadRepo): Promise<Workspace> {
    const { provider, logger } = this.options;
    let sandbox: Sandbox | undefined;
    let note: string | undefined;
    const started = Date.now();
    if (entry.sandboxId && entry.sandboxProvider === provider.name) {
      sandbox = await provider.connect(entry.sandboxId, this.options.sandboxTimeoutMs);
      if (!sandbox) await this.options.registry.remove(entry.sandboxId);
      if (sandbox) {
        this.heldSince.set(sandbox.id, started);
        await this.options.registry.touch(sandbox.id);
        const root = await existingWorkspace(sandbox, entry.repo, entry.branch);
        if (root) {
          this.options.onReady(entry.repo, sandbox.id, true, undefined);
          return { repo: entry.repo, sandbox, root, branch: entry.branch, baseBranch: entry.baseBranch };
        }
        logger.warn({ repo: entry.repo, sandbox: sandbox.id }, 'sandbox lost its checkout; cloning again');
      } else {
        note = entry.published
          ? `The previous sandbox is gone; I started a fresh one from the published branch \`${entry.branch}\`. Anything that was not published is lost.`
          : 'The previous sandbox is gone and nothing had been published yet, so I started again from the base branch; earlier unpublished work is lost.';
      }
    }
    if (!sandbox) {
      sandbox = await provider.create({
        timeoutMs: this.options.sandboxTimeoutMs,
        metadata: { ...this.options.metadata, repo: entry.repo },
      });
      // Recorded before anything else, so no sandbox ever runs without a record.
      await this.options.registry.register({
        sandboxId: sandbox.id,
        provider: provider.name,
        channel: this.options.thread.channel,
        threadTs: this.options.thread.threadTs,
        repo: entry.repo,
      });
    }
    this.heldSince.set(sandbox.id, started);
    entry.sandboxId = sandbox.id;
    entry.sandboxProvider = provider.name;
    await this.options.saveRepo(entry);
    const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
    if (!ref) throw new Error(`Not a repository name: ${entry.repo}`);
    // A public repo needs no credential in the sandbox at all.
    const token = entry.private ? await this.options.credentials.tokenFor(ref, 'read') : undefined;
    let cloned: Awaited<ReturnType<typeof cloneWorkspace>>;
    try {
      cloned = await cloneWorkspace(sandbox, {
        repo: entry.repo,
        cloneUrl: `${this.options.githubServerUrl}/${entry.repo}.git`,
        token,
        baseBranch: entry.baseBranch,
        branch: entry.branch,
        signal: this.options.signal,
      });
    } catch (error) {
      logger.error({ err: error, repo: entry.repo }, `clone failed: ${errorMessage(error)}`);
      throw error;
    }
    if (cloned.resumedFromRemote && !entry.published) {
      logger.warn({ repo: entry.repo, branch: entry.branch }, 'branch exists on GitHub but was never published by us');
    }
    // A recreated sandbox holds exactly the published commits: the mapping starts over from them.
    if (cloned.resumedFromRemote && entry.published) {
      const head = await sandbox.exec('git rev-parse HEAD', { cwd: cloned.root, timeoutMs: 30_000 });
      entry.published = { localSha: head.stdout.trim(), remoteSha: head.stdout.trim() };
      await this.options.saveRepo(entry);
    }
    this.options.onReady(entry.repo, sandbox.id, false, note);
    return { repo: entry.repo, sandbox, root: cloned.root, branch: entry.branch, baseBranch: entry.baseBranch };
  }
}
