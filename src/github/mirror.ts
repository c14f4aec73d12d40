import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { AbortedError } from '../lib/errors.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { Logger } from '../lib/logger.js';
import type { GitHubCredentials } from './credentials.js';
import { GitHubError } from './github-errors.js';
import { fullName, type RepoRef } from './repo-ref.js';

const run = promisify(execFile);

export interface RepoMirrorsOptions {
  /** Where the bare mirrors live on the bot's host (one per repo). */
  dir: string;
  /** `GITHUB_SERVER_URL`: the mirrors fetch `${serverUrl}/owner/repo.git`. */
  serverUrl: string;
  credentials: GitHubCredentials;
  logger: Logger;
  /** Longest a fetch may take. Default 10 min. */
  fetchTimeoutMs?: number;
  /** PATH for the host's git (the bot's environment is not handed to git: it holds secrets). */
  path: string;
}

/** A repository packed for a sandbox: no credential, no remote, only the branches asked for. */
export interface RepoHandover {
  /** A `git bundle` of the base branch (and the thread's branch when it exists on GitHub). */
  bundle: Uint8Array;
  /** The thread's branch was found on GitHub and is in the bundle. */
  hasBranch: boolean;
  /** The remote the sandbox's clone names `origin`: the repo's URL, never with a credential. */
  remoteUrl: string;
}

/**
 * The host's bare mirror of each linked repo, fetched incrementally with the host's own read
 * credential (which never leaves the host), from which a sandbox gets its repository as a `git
 * bundle` uploaded through the sandbox's file API. A sandbox thus never holds a GitHub credential,
 * for public and private repos alike, and never talks to GitHub to get the code.
 */
export class RepoMirrors {
  private readonly fetching = new KeyedMutex();
  /**
   * `dir` made absolute once: git runs inside a mirror, so a relative path (the default `data/mirrors`)
   * handed to it would be read from there.
   */
  private readonly dir: string;

  constructor(private readonly options: RepoMirrorsOptions) {
    this.dir = resolve(options.dir);
  }

  /**
   * Brings the mirror up to date for the base branch (and the thread's branch when asked: a thread
   * that never published has none, so no time is spent looking) and packs both into a bundle.
   */
  async handover(
    repo: RepoRef,
    branches: { base: string; branch?: string },
    signal?: AbortSignal,
  ): Promise<RepoHandover> {
    const name = fullName(repo);
    const remoteUrl = `${this.options.serverUrl}/${name}.git`;
    const mirror = join(this.dir, `${name.toLowerCase()}.git`);
    return this.fetching.run(mirror, async () => {
      await this.ensureMirror(mirror, signal);
      const env = await this.credentialEnv(repo, remoteUrl);
      await this.git(
        mirror,
        ['fetch', '--quiet', '--no-tags', remoteUrl, `+refs/heads/${branches.base}:refs/heads/${branches.base}`],
        {
          env,
          signal,
          doing: `fetch ${name}@${branches.base}`,
        },
      );
      let hasBranch = false;
      if (branches.branch) {
        hasBranch = await this.git(
          mirror,
          ['fetch', '--quiet', '--no-tags', remoteUrl, `+refs/heads/${branches.branch}:refs/heads/${branches.branch}`],
          { env, signal, doing: `fetch ${name}@${branches.branch}` },
        ).then(
          () => true,
          (error: unknown) => {
            if (error instanceof AbortedError) throw error;
            // Gone from GitHub (deleted after a merge, say): the sandbox starts from the base branch.
            this.options.logger.info({ repo: name, branch: branches.branch }, 'the thread’s branch is not on GitHub');
            return false;
          },
        );
      }
      const file = join(this.dir, `.handover-${randomUUID()}.bundle`);
      try {
        const refs = [
          `refs/heads/${branches.base}`,
          ...(hasBranch && branches.branch ? [`refs/heads/${branches.branch}`] : []),
        ];
        await this.git(mirror, ['bundle', 'create', '--quiet', file, ...refs], { signal, doing: `pack ${name}` });
        return { bundle: new Uint8Array(await readFile(file)), hasBranch, remoteUrl };
      } finally {
        await rm(file, { force: true });
      }
    });
  }

  private async ensureMirror(mirror: string, signal: AbortSignal | undefined): Promise<void> {
    const exists = await access(join(mirror, 'HEAD')).then(
      () => true,
      () => false,
    );
    if (exists) return;
    await mkdir(mirror, { recursive: true });
    await this.git(mirror, ['init', '--quiet', '--bare'], { signal, doing: 'create a mirror' });
  }

  /** The host's read credential for this one fetch, through the environment (not argv). */
  private async credentialEnv(repo: RepoRef, remoteUrl: string): Promise<Record<string, string>> {
    const token = await this.options.credentials.tokenFor(repo, 'read');
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    return {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `http.${remoteUrl}.extraHeader`,
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    };
  }

  private async git(
    cwd: string,
    args: string[],
    options: { env?: Record<string, string>; signal?: AbortSignal; doing: string },
  ): Promise<string> {
    try {
      const { stdout } = await run('git', args, {
        cwd,
        env: {
          PATH: this.options.path,
          HOME: this.dir,
          GIT_TERMINAL_PROMPT: '0',
          GIT_CONFIG_NOSYSTEM: '1',
          LC_ALL: 'C',
          ...options.env,
        },
        timeout: this.options.fetchTimeoutMs ?? 10 * 60_000,
        maxBuffer: 16 * 1024 * 1024,
        signal: options.signal,
      });
      return stdout;
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError(options.signal.reason);
      const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
      const transient = /Could not resolve host|timed out|Connection refused|Connection reset|50[0-9]|429/.test(stderr);
      throw new GitHubError('mirror_failed', `Could not ${options.doing}: ${stderr.split('\n').slice(-3).join(' ')}`, {
        cause: error,
        kind: transient ? 'transient' : 'permanent',
        endsRun: !transient,
        userMessage: `I could not get the repository from GitHub to ${options.doing} (${stderr.split('\n').at(-1) ?? 'git failed'}).`,
      });
    }
  }
}
