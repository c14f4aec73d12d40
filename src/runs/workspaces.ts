import type { RepoMirrors } from '../github/mirror.js';
import { parseRepoRef } from '../github/repo-ref.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { retrying } from '../lib/retry.js';
import type { Sandbox, SandboxProvider } from '../sandbox/sandbox.js';
import { inspectWorkspace, receiveRepository, type Workspace } from '../sandbox/workspace.js';
import type { SandboxRegistry } from '../store/sandbox-registry.js';
import type { ThreadRepo } from '../store/thread-store.js';

export interface RunWorkspacesOptions {
  repos: ThreadRepo[];
  provider: SandboxProvider;
  /** The host's mirrors: where a sandbox's repository comes from, without a credential. */
  mirrors: RepoMirrors;
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
  /** Runs once in each new sandbox, before any tool call gets it (the repo's set-up script). */
  setup?: (workspace: Workspace) => Promise<void>;
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

  /** Persists a change to one repo's entry. */
  save(entry: ThreadRepo): Promise<void> {
    return this.options.saveRepo(entry);
  }

  /** Sandbox time this run has held so far (summed over its sandboxes), without letting them go. */
  heldMs(now = Date.now()): number {
    let held = 0;
    for (const since of this.heldSince.values()) held += Math.max(0, now - since);
    return held;
  }

  /**
   * Ends this run's hold on its sandboxes: records their use; answers the sandbox time used. A sandbox
   * still being prepared (the run ended before its first tool call: the model failed or only answered)
   * is waited for, so its time is the run's and what it tells the thread comes before the run's outcome.
   */
  async release(): Promise<number> {
    await Promise.allSettled(this.pending.values());
    const now = Date.now();
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

  /**
   * The thread's sandbox for a repo: the one it had, reconnected, when it still holds the checkout;
   * otherwise a fresh sandbox that receives the repo from the host's mirror. A sandbox that lost its
   * checkout (or cannot be asked) is never trusted with a new one: whatever ran in it may be lying in
   * wait, so it is released and replaced, and the thread is told what unpublished work went with it.
   */
  private async prepare(entry: ThreadRepo): Promise<Workspace> {
    const { provider } = this.options;
    const started = Date.now();
    let note: string | undefined;
    if (entry.sandboxId && entry.sandboxProvider === provider.name) {
      const reused = await this.reuse(entry, started);
      if (reused.kind === 'ready') return reused.workspace;
      note = reused.note;
    }
    const ref = parseRepoRef(entry.repo, this.options.githubServerUrl);
    if (!ref) throw new Error(`Not a repository name: ${entry.repo}`);
    // The sandbox starts while the host packs the repository: neither waits for the other.
    const published = entry.published !== undefined || entry.pr !== undefined;
    const [sandbox, handover] = await Promise.all([
      this.create(entry, started),
      this.options.mirrors.handover(
        ref,
        { base: entry.baseBranch, ...(published ? { branch: entry.branch } : {}) },
        this.options.signal,
      ),
    ]);
    let root: string;
    try {
      root = await receiveRepository(sandbox, {
        repo: entry.repo,
        ...handover,
        baseBranch: entry.baseBranch,
        branch: entry.branch,
        signal: this.options.signal,
      });
    } catch (error) {
      this.options.logger.error({ err: error, repo: entry.repo }, `hand-over failed: ${errorMessage(error)}`);
      throw error;
    }
    // A fresh sandbox holds exactly the published commits: the mapping starts over from them.
    if (handover.hasBranch && entry.published) {
      const head = await sandbox.exec('git rev-parse HEAD', { cwd: root, timeoutMs: 30_000 });
      entry.published = { localSha: head.stdout.trim(), remoteSha: head.stdout.trim() };
      await this.options.saveRepo(entry);
    }
    if (entry.published && !handover.hasBranch) {
      note ??= `The branch \`${entry.branch}\` is no longer on GitHub, so I started again from ${entry.baseBranch}.`;
      entry.published = undefined;
      await this.options.saveRepo(entry);
    }
    this.options.onReady(entry.repo, sandbox.id, false, note);
    const workspace = { repo: entry.repo, sandbox, root, branch: entry.branch, baseBranch: entry.baseBranch };
    await this.options.setup?.(workspace);
    return workspace;
  }

  /** Reconnects to the thread's sandbox and checks its checkout; anything doubtful replaces it. */
  private async reuse(
    entry: ThreadRepo,
    started: number,
  ): Promise<{ kind: 'ready'; workspace: Workspace } | { kind: 'replace'; note: string }> {
    const { provider, registry, logger } = this.options;
    const id = entry.sandboxId ?? '';
    const lost = entry.published
      ? `I started a fresh sandbox from the published branch \`${entry.branch}\`; anything that was not published is lost.`
      : 'Nothing had been published yet, so I started a fresh sandbox from the base branch; earlier unpublished work is lost.';
    const sandbox = await provider.connect(id, this.options.sandboxTimeoutMs);
    if (!sandbox) {
      await registry.remove(id);
      return { kind: 'replace', note: `The previous sandbox is gone. ${lost}` };
    }
    this.heldSince.set(sandbox.id, started);
    await registry.touch(sandbox.id);
    const root = await retrying(() => inspectWorkspace(sandbox, entry.repo, entry.branch), {
      retries: 2,
      minDelayMs: 500,
      shouldRetry: () => !this.options.signal.aborted,
      signal: this.options.signal,
    }).catch((error: unknown) => {
      logger.warn({ err: error, sandbox: id }, 'could not check the sandbox’s checkout');
      return undefined;
    });
    if (root !== undefined && root !== 'missing') {
      this.options.onReady(entry.repo, sandbox.id, true, undefined);
      return {
        kind: 'ready',
        workspace: { repo: entry.repo, sandbox, root, branch: entry.branch, baseBranch: entry.baseBranch },
      };
    }
    logger.warn(
      { repo: entry.repo, sandbox: id, checkout: root ?? 'unknown' },
      'replacing a sandbox that lost its checkout',
    );
    this.heldSince.delete(sandbox.id);
    await provider
      .release(id, 'kill')
      .catch((error: unknown) => logger.warn({ err: error, sandbox: id }, 'could not kill a sandbox'));
    await registry.remove(id);
    return {
      kind: 'replace',
      note: `The previous sandbox ${root === 'missing' ? 'lost its checkout' : 'could not be checked'}, so I did not trust it with a new one. ${lost}`,
    };
  }

  /** A new sandbox, recorded before anything else so that none ever runs without a record. */
  private async create(entry: ThreadRepo, started: number): Promise<Sandbox> {
    const { provider } = this.options;
    const sandbox = await provider.create({
      timeoutMs: this.options.sandboxTimeoutMs,
      metadata: { ...this.options.metadata, repo: entry.repo },
      ...(entry.template ? { template: entry.template } : {}),
    });
    await this.options.registry.register({
      sandboxId: sandbox.id,
      provider: provider.name,
      channel: this.options.thread.channel,
      threadTs: this.options.thread.threadTs,
      repo: entry.repo,
    });
    this.heldSince.set(sandbox.id, started);
    entry.sandboxId = sandbox.id;
    entry.sandboxProvider = provider.name;
    await this.options.saveRepo(entry);
    return sandbox;
  }
}
