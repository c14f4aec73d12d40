import { shellQuote } from '../lib/shell.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import { GitHubError } from './github-errors.js';

/**
 * Small read-only helpers that run git plumbing inside the sandbox and parse what it prints.
 * Nothing here writes to the repo, and no credential is ever passed to the sandbox.
 * Every non-zero exit that is not expected becomes a permanent `GitHubError` `publish_failed`
 * saying which git command failed; infrastructure failures (sandbox gone, aborted) pass through.
 */

export const SHA_RE = /^[0-9a-f]{40}$/;

export type TreeMode = '100644' | '100755' | '120000' | '160000' | '040000';

export interface GitIdentity {
  name: string;
  email: string;
  /** ISO 8601 with the commit's own UTC offset, like `git log --format=%aI`. */
  date: string;
}

export interface CommitObject {
  sha: string;
  tree: string;
  parents: string[];
  author: GitIdentity;
  committer: GitIdentity;
  /** The message exactly as stored (usually ending in a newline). */
  message: string;
  /** Header names other than tree/parent/author/committer (gpgsig, encoding, mergetag…). */
  extraHeaders: string[];
}

export interface TreeChange {
  /** A (added), M (modified), D (deleted), T (type changed). */
  status: 'A' | 'M' | 'D' | 'T';
  path: string;
  srcMode: string;
  dstMode: string;
  srcSha: string;
  dstSha: string;
}

/** Plumbing only, with settings that keep the output parseable whatever the repo's config says. */
const GIT = 'git -c core.quotePath=false -c color.ui=false';
const COMMAND_TIMEOUT_MS = 60_000;
const BLOB_TIMEOUT_MS = 180_000;
/** Raw bytes read from the sandbox per command (base64 makes it a third larger on the wire). */
const BLOB_BATCH_BYTES = 8 * 1024 * 1024;
const BLOB_BATCH_COUNT = 200;

export function publishFailed(what: string, detail: string, cause?: unknown): GitHubError {
  const trimmed = detail.trim().slice(0, 500);
  return new GitHubError('publish_failed', `Could not publish: ${what}${trimmed ? `: ${trimmed}` : ''}`, {
    cause,
    userMessage: `Publishing to GitHub failed while trying to ${what}${trimmed ? ` (${trimmed})` : ''}.`,
  });
}

function assertSha(sha: string): string {
  if (!SHA_RE.test(sha))
    throw publishFailed('read the sandbox’s git history', `unexpected object id ${JSON.stringify(sha)}`);
  return sha;
}

export class SandboxGit {
  constructor(
    private readonly sandbox: Sandbox,
    private readonly root: string,
    private readonly signal?: AbortSignal,
  ) {}

  /** Runs `git <args>` in the repo root; `okExits` are the exit codes that are not failures. */
  async run(
    args: readonly string[],
    what: string,
    options: { okExits?: readonly number[]; stdin?: string; timeoutMs?: number } = {},
  ): Promise<{ exitCode: number; stdout: string }> {
    const git = `${GIT} ${args.map(shellQuote).join(' ')}`;
    const command = options.stdin === undefined ? git : `printf '%s' ${shellQuote(options.stdin)} | ${git}`;
    const result = await this.exec(command, options.timeoutMs ?? COMMAND_TIMEOUT_MS);
    const okExits = options.okExits ?? [0];
    if (!okExits.includes(result.exitCode)) {
      throw publishFailed(what, result.timedOut ? 'timed out' : result.stderr || `git exited with ${result.exitCode}`);
    }
    return { exitCode: result.exitCode, stdout: result.stdout };
  }

  private exec(command: string, timeoutMs: number) {
    return this.sandbox.exec(command, {
      cwd: this.root,
      timeoutMs,
      signal: this.signal,
      env: { GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C.UTF-8' },
    });
  }

  /** The commit a revision names, or undefined when it does not exist. */
  async resolveCommit(rev: string): Promise<string | undefined> {
    const { exitCode, stdout } = await this.run(
      ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`],
      `resolve ${rev} in the sandbox`,
      { okExits: [0, 1] },
    );
    return exitCode === 0 ? assertSha(stdout.trim()) : undefined;
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors; false when either is unknown. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const { exitCode } = await this.run(
      ['merge-base', '--is-ancestor', ancestor, descendant],
      'compare commits in the sandbox',
      { okExits: [0, 1, 128] },
    );
    return exitCode === 0;
  }

  async mergeBase(a: string, b: string): Promise<string | undefined> {
    const { exitCode, stdout } = await this.run(['merge-base', a, b], 'find where the branch started', {
      okExits: [0, 1],
    });
    return exitCode === 0 ? assertSha(stdout.trim()) : undefined;
  }

  /** A symlink's target (a small blob), capped so a huge blob cannot flood the bot. */
  async symlinkTarget(sha: string): Promise<string> {
    const { stdout } = await this.run(['cat-file', 'blob', assertSha(sha)], `read a symlink ${sha.slice(0, 12)}`);
    return stdout.slice(0, 4096);
  }

  /** Each commit on the first-parent line from `head` back to (not into) `stop`, with its tree, newest first. */
  async firstParentTrees(head: string, stop: string): Promise<Array<{ sha: string; tree: string }>> {
    const { stdout } = await this.run(
      ['log', '--first-parent', '--format=%H %T', '--end-of-options', `${assertSha(stop)}..${assertSha(head)}`],
      'list the branch’s commits',
    );
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sha = '', tree = ''] = line.split(' ');
        return { sha: assertSha(sha), tree: assertSha(tree) };
      });
  }

  /** Commits in `from..to` along first parents, oldest first. */
  async firstParentRange(from: string, to: string): Promise<string[]> {
    const { stdout } = await this.run(
      ['rev-list', '--reverse', '--first-parent', `${from}..${to}`],
      'list the commits to publish',
    );
    return stdout.split('\n').filter(Boolean).map(assertSha);
  }

  /** A commit object and what changed from `parent` to it (blobs and gitlinks, no renames), in one round trip. */
  async readCommitWithChanges(parent: string, sha: string): Promise<{ commit: CommitObject; changes: TreeChange[] }> {
    const what = `read commit ${sha.slice(0, 12)}`;
    const diff = ['diff-tree', '-r', '-z', '--no-renames', '--no-abbrev', '--raw', assertSha(parent), assertSha(sha)];
    // The commit object goes first, base64 on one line, so whatever its message holds cannot blur the split.
    const script = `set -o pipefail; ${GIT} cat-file commit ${sha} | base64 -w0 && echo && ${GIT} ${diff.join(' ')}`;
    const result = await this.exec(script, COMMAND_TIMEOUT_MS);
    if (result.exitCode !== 0) throw publishFailed(what, result.timedOut ? 'timed out' : result.stderr);
    const newline = result.stdout.indexOf('\n');
    if (newline < 0) throw publishFailed(what, 'unexpected output');
    const raw = Buffer.from(result.stdout.slice(0, newline), 'base64').toString('utf8');
    return { commit: parseCommitObject(sha, raw), changes: parseRawDiff(result.stdout.slice(newline + 1)) };
  }

  /** Byte sizes of blobs (to batch reads). */
  async blobSizes(shas: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    if (shas.length === 0) return sizes;
    const { stdout } = await this.run(
      ['cat-file', '--batch-check=%(objectname) %(objecttype) %(objectsize)'],
      'inspect the files to publish',
      { stdin: `${shas.map(assertSha).join('\n')}\n` },
    );
    for (const line of stdout.split('\n')) {
      const [sha, type, size] = line.split(' ');
      if (sha && type === 'blob' && size !== undefined) sizes.set(sha, Number(size));
    }
    for (const sha of shas) {
      if (!sizes.has(sha)) throw publishFailed('read the files to publish', `blob ${sha} is missing in the sandbox`);
    }
    return sizes;
  }

  /**
   * The committed bytes of blobs, base64-encoded (byte-exact for binaries and symlink targets),
   * read a batch at a time; `onBatch` sees each batch as soon as it is read.
   */
  async readBlobs(shas: readonly string[], onBatch: (blobs: Map<string, string>) => Promise<void>): Promise<void> {
    const sizes = await this.blobSizes(shas);
    let batch: string[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const current = batch;
      batch = [];
      bytes = 0;
      const script = `set -o pipefail; for s in ${current.join(' ')}; do ${GIT} cat-file blob "$s" | base64 -w0 || exit 1; echo; done`;
      const result = await this.exec(script, BLOB_TIMEOUT_MS);
      if (result.exitCode !== 0) {
        throw publishFailed('read the files to publish', result.timedOut ? 'timed out' : result.stderr);
      }
      const lines = result.stdout.split('\n');
      if (lines.length !== current.length + 1) {
        throw publishFailed('read the files to publish', `expected ${current.length} blobs, got ${lines.length - 1}`);
      }
      const blobs = new Map<string, string>();
      current.forEach((sha, index) => {
        blobs.set(sha, lines[index] ?? '');
      });
      await onBatch(blobs);
    };
    for (const sha of shas) {
      const size = sizes.get(sha) ?? 0;
      if (batch.length > 0 && (bytes + size > BLOB_BATCH_BYTES || batch.length >= BLOB_BATCH_COUNT)) await flush();
      batch.push(sha);
      bytes += size;
    }
    await flush();
  }
}

/** Parses `git cat-file commit` output. */
export function parseCommitObject(sha: string, raw: string): CommitObject {
  const split = raw.indexOf('\n\n');
  const headerText = split < 0 ? raw.replace(/\n$/, '') : raw.slice(0, split);
  const message = split < 0 ? '' : raw.slice(split + 2);
  let tree: string | undefined;
  const parents: string[] = [];
  let author: GitIdentity | undefined;
  let committer: GitIdentity | undefined;
  const extraHeaders: string[] = [];
  for (const line of headerText.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header (gpgsig)
    const space = line.indexOf(' ');
    const key = space < 0 ? line : line.slice(0, space);
    const value = space < 0 ? '' : line.slice(space + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(assertSha(value));
    else if (key === 'author') author = parseIdentity(value);
    else if (key === 'committer') committer = parseIdentity(value);
    else extraHeaders.push(key);
  }
  if (!tree || !SHA_RE.test(tree) || !author || !committer) {
    throw publishFailed(`read commit ${sha.slice(0, 12)}`, 'the commit object could not be parsed');
  }
  return { sha, tree, parents, author, committer, message, extraHeaders };
}

/** `Name <email> 1700000000 +0200` → `{name, email, date: '2023-11-15T00:13:20+02:00'}`. */
export function parseIdentity(value: string): GitIdentity {
  const match = /^(.*) <([^<>]*)> (-?\d+) ([+-])(\d{2})(\d{2})$/.exec(value);
  if (!match) throw publishFailed('read a commit', `unparseable identity ${JSON.stringify(value)}`);
  const [, name = '', email = '', seconds = '0', sign = '+', hours = '00', minutes = '00'] = match;
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes));
  const local = new Date((Number(seconds) + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
  return { name, email, date: `${local}${sign}${hours}:${minutes}` };
}

/** Parses `git diff-tree -r -z --raw --no-abbrev` (two tree-ish arguments, so no commit header). */
export function parseRawDiff(out: string): TreeChange[] {
  const fields = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const meta = fields[i] ?? '';
    const path = fields[i + 1] ?? '';
    const match = /^:(\d{6}) (\d{6}) ([0-9a-f]{40}) ([0-9a-f]{40}) ([AMDT])$/.exec(meta);
    if (!match || !path)
      throw publishFailed('read the changes to publish', `unexpected diff line ${JSON.stringify(meta)}`);
    const [, srcMode = '', dstMode = '', srcSha = '', dstSha = '', status = 'M'] = match;
    if (path.includes('\uFFFD')) {
      throw publishFailed('read the changes to publish', `the file name ${JSON.stringify(path)} is not valid UTF-8`);
    }
    changes.push({ status: status as TreeChange['status'], path, srcMode, dstMode, srcSha, dstSha });
  }
  return changes;
}
