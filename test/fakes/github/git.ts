import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join } from 'node:path';

/** A failed git command (non-zero exit). */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} exited with ${code}: ${stderr.trim()}`);
    this.name = 'GitError';
  }
}

export interface GitRunOptions {
  /** Runs `git --git-dir <gitDir> …`. */
  gitDir?: string;
  cwd?: string;
  input?: string | Uint8Array;
  env?: Record<string, string | undefined>;
  /** Resolve instead of rejecting on a non-zero exit. */
  allowFail?: boolean;
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface GitPerson {
  name: string;
  email: string;
  /** ISO 8601, e.g. `2024-01-01T00:00:00Z`. */
  date: string;
}

export interface CommitInfo {
  sha: string;
  tree: string;
  parents: string[];
  author: GitPerson;
  committer: GitPerson;
  message: string;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  sha: string;
}

export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
export const SHA_RE = /^[0-9a-f]{40}$/;

/**
 * The environment for every git the fake runs: the caller's environment minus inherited `GIT_*`
 * variables (a test may itself run inside a git hook), with no system/global config.
 */
export function isolatedGitEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('GIT_') && value !== undefined) env[key] = value;
  }
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = devNull;
  env.GIT_TERMINAL_PROMPT = '0';
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export function runGit(args: readonly string[], options: GitRunOptions = {}): Promise<GitResult> {
  const fullArgs = options.gitDir ? ['--git-dir', options.gitDir, ...args] : [...args];
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, {
      cwd: options.cwd,
      env: isolatedGitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => {}); // EPIPE when git exits before reading its input
    child.on('error', reject);
    child.on('close', (code) => {
      const result = { code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      if (result.code !== 0 && !options.allowFail) reject(new GitError(args, code, result.stderr));
      else resolve(result);
    });
    child.stdin.end(options.input ?? '');
  });
}

async function gitText(gitDir: string, args: readonly string[], input?: string | Uint8Array): Promise<string> {
  const result = await runGit(args, { gitDir, input });
  return result.stdout.toString('utf8').trim();
}

export async function initBareRepo(gitDir: string, defaultBranch: string): Promise<void> {
  await runGit(['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, gitDir]);
}

export function hashObject(gitDir: string, data: Uint8Array | string, type = 'blob'): Promise<string> {
  return gitText(gitDir, ['hash-object', '-w', '-t', type, '--stdin'], data);
}

/** Object types of `shas` (absent ones are missing from the result). */
export async function objectTypes(gitDir: string, shas: readonly string[]): Promise<Map<string, string>> {
  const types = new Map<string, string>();
  const valid = shas.filter((sha) => SHA_RE.test(sha));
  if (valid.length === 0) return types;
  const out = await gitText(gitDir, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], `${valid.join('\n')}\n`);
  for (const line of out.split('\n')) {
    const [sha, type] = line.split(' ');
    if (sha && type && type !== 'missing') types.set(sha, type);
  }
  return types;
}

export async function objectType(gitDir: string, sha: string): Promise<string | undefined> {
  return (await objectTypes(gitDir, [sha])).get(sha);
}

export async function readObject(gitDir: string, sha: string): Promise<Buffer | undefined> {
  const type = await objectType(gitDir, sha);
  if (!type) return undefined;
  return (await runGit(['cat-file', type, sha], { gitDir })).stdout;
}

/** Resolves a full ref name (`refs/heads/x`) exactly; `undefined` when absent. */
export async function resolveRef(gitDir: string, fullRef: string): Promise<string | undefined> {
  const result = await runGit(['show-ref', '--verify', '--hash', fullRef], { gitDir, allowFail: true });
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

/** Resolves any revision (`main`, `heads/x`, a sha) to a commit sha. */
export async function resolveCommit(gitDir: string, rev: string): Promise<string | undefined> {
  const result = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`], {
    gitDir,
    allowFail: true,
  });
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

export async function isValidRefName(fullRef: string): Promise<boolean> {
  return (await runGit(['check-ref-format', fullRef], { allowFail: true })).code === 0;
}

/**
 * Compare-and-swap ref update. `expectedOld`: a sha, `null` = must not exist yet, `undefined` = any.
 * Returns false when the ref moved meanwhile (or already existed).
 */
export async function updateRef(
  gitDir: string,
  fullRef: string,
  newSha: string,
  expectedOld?: string | null,
): Promise<boolean> {
  const args = ['update-ref', fullRef, newSha];
  if (expectedOld !== undefined) args.push(expectedOld ?? '');
  return (await runGit(args, { gitDir, allowFail: true })).code === 0;
}

export async function deleteRef(gitDir: string, fullRef: string): Promise<boolean> {
  return (await runGit(['update-ref', '-d', fullRef], { gitDir, allowFail: true })).code === 0;
}

export async function listRefs(gitDir: string, prefix: string): Promise<Map<string, string>> {
  const out = await gitText(gitDir, ['for-each-ref', '--format=%(refname) %(objectname)', prefix]);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const space = line.lastIndexOf(' ');
    if (space > 0) refs.set(line.slice(0, space), line.slice(space + 1));
  }
  return refs;
}

export async function isAncestor(gitDir: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await runGit(['merge-base', '--is-ancestor', ancestor, descendant], { gitDir, allowFail: true });
  if (result.code > 1) throw new GitError(['merge-base', '--is-ancestor'], result.code, result.stderr);
  return result.code === 0;
}

/** All blobs and gitlinks below `tree`, keyed by full path. */
export async function lsTreeRecursive(gitDir: string, tree: string): Promise<Map<string, TreeEntry>> {
  const out = (await runGit(['ls-tree', '-r', '-z', '--full-tree', tree], { gitDir })).stdout.toString('utf8');
  return parseLsTree(out);
}

/** Entries of a tree-ish: direct children, or (recursive) every blob, gitlink and subtree. */
export async function lsTree(gitDir: string, treeish: string, recursive = false): Promise<Map<string, TreeEntry>> {
  const args = ['ls-tree', '-z', '--full-tree', ...(recursive ? ['-r', '-t'] : []), treeish];
  return parseLsTree((await runGit(args, { gitDir })).stdout.toString('utf8'));
}

export interface SizedTreeEntry extends TreeEntry {
  /** Blob size in bytes; 0 for trees and gitlinks. */
  size: number;
}

/**
 * `git ls-tree -l`: the direct children of `treeish` (a tree, or `commit:dir`), or — with `path` — just
 * the entry at that path of a commit or tree (a directory path gives the directory's own entry).
 * `undefined` when `treeish` does not resolve.
 */
export async function lsTreeSized(
  gitDir: string,
  treeish: string,
  path?: string,
): Promise<Map<string, SizedTreeEntry> | undefined> {
  const args = ['ls-tree', '-z', '-l', '--full-tree', treeish, ...(path === undefined ? [] : ['--', path])];
  const result = await runGit(args, { gitDir, allowFail: true, env: { GIT_LITERAL_PATHSPECS: '1' } });
  if (result.code !== 0) return undefined;
  const entries = new Map<string, SizedTreeEntry>();
  for (const record of result.stdout.toString('utf8').split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, sha, size] = record.slice(0, tab).split(/ +/);
    if (mode && sha && (type === 'blob' || type === 'tree' || type === 'commit')) {
      entries.set(record.slice(tab + 1), { mode, type, sha, size: type === 'blob' ? Number(size) || 0 : 0 });
    }
  }
  return entries;
}

function parseLsTree(out: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  for (const record of out.split('\0')) {
    const tab = record.indexOf('\t');
    if (tab < 0) continue;
    const [mode, type, sha] = record.slice(0, tab).split(' ');
    if (mode && sha && (type === 'blob' || type === 'tree' || type === 'commit')) {
      entries.set(record.slice(tab + 1), { mode, type, sha });
    }
  }
  return entries;
}

/** Writes a (nested) tree from a flat path → entry map, via a throwaway index file. */
export async function writeTree(gitDir: string, scratchDir: string, entries: Map<string, TreeEntry>): Promise<string> {
  if (entries.size === 0) return hashObject(gitDir, '', 'tree');
  const indexFile = join(scratchDir, `index-${randomBytes(6).toString('hex')}`);
  const env = { GIT_INDEX_FILE: indexFile };
  try {
    const lines = [...entries].map(([path, entry]) => `${entry.mode} ${entry.sha}\t${path}\0`).join('');
    await runGit(['update-index', '-z', '--add', '--index-info'], { gitDir, env, input: lines });
    return (await runGit(['write-tree'], { gitDir, env })).stdout.toString('utf8').trim();
  } finally {
    await rm(indexFile, { force: true });
  }
}

function personEnv(prefix: 'AUTHOR' | 'COMMITTER', person: Partial<GitPerson> | undefined): Record<string, string> {
  const env: Record<string, string> = {
    [`GIT_${prefix}_NAME`]: person?.name ?? 'Fake GitHub',
    [`GIT_${prefix}_EMAIL`]: person?.email ?? 'noreply@github.invalid',
  };
  if (person?.date) env[`GIT_${prefix}_DATE`] = person.date;
  return env;
}

export async function commitTree(
  gitDir: string,
  commit: {
    tree: string;
    parents: readonly string[];
    message: string;
    author?: Partial<GitPerson>;
    committer?: Partial<GitPerson>;
  },
): Promise<string> {
  const args = ['commit-tree', commit.tree, ...commit.parents.flatMap((parent) => ['-p', parent])];
  const env = { ...personEnv('AUTHOR', commit.author), ...personEnv('COMMITTER', commit.committer ?? commit.author) };
  return (await runGit(args, { gitDir, env, input: commit.message })).stdout.toString('utf8').trim();
}

function parsePerson(line: string): GitPerson {
  const match = /^(.*) <(.*)> (\d+) [+-]\d{4}$/.exec(line);
  if (!match) return { name: line, email: '', date: new Date(0).toISOString() };
  const date = new Date(Number(match[3]) * 1000).toISOString().replace('.000Z', 'Z');
  return { name: match[1] ?? '', email: match[2] ?? '', date };
}

export async function readCommit(gitDir: string, sha: string): Promise<CommitInfo | undefined> {
  if ((await objectType(gitDir, sha)) !== 'commit') return undefined;
  const raw = (await runGit(['cat-file', 'commit', sha], { gitDir })).stdout.toString('utf8');
  const split = raw.indexOf('\n\n');
  const headerText = split < 0 ? raw : raw.slice(0, split);
  const info: CommitInfo = {
    sha,
    tree: '',
    parents: [],
    author: parsePerson(''),
    committer: parsePerson(''),
    message: split < 0 ? '' : raw.slice(split + 2),
  };
  for (const line of headerText.split('\n')) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'tree') info.tree = value;
    else if (key === 'parent') info.parents.push(value);
    else if (key === 'author') info.author = parsePerson(value);
    else if (key === 'committer') info.committer = parsePerson(value);
  }
  return info;
}

/** A real three-way merge (`git merge-tree --write-tree`); `undefined` on conflicts. */
export async function mergeTrees(gitDir: string, ours: string, theirs: string): Promise<string | undefined> {
  const result = await runGit(['merge-tree', '--write-tree', '--no-messages', ours, theirs], {
    gitDir,
    allowFail: true,
  });
  if (result.code === 1) return undefined;
  if (result.code !== 0) throw new GitError(['merge-tree'], result.code, result.stderr);
  return result.stdout.toString('utf8').split('\n')[0]?.trim();
}
