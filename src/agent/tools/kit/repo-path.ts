import { posix } from 'node:path';
import { AppError } from '../../../lib/errors.js';

/** A model-given path, checked and resolved against a repo root. */
export interface RepoPath {
  /** Normalised, relative to the repo root, without a trailing slash; `.` is the root itself. */
  relative: string;
  /** Absolute path inside the sandbox. */
  absolute: string;
}

export class RepoPathError extends AppError {
  constructor(message: string) {
    super('invalid_path', message);
  }
}

/**
 * Resolves a path the model gave against the repo root. Only relative paths are accepted, and
 * they are normalised lexically: `..`, absolute paths, `~` and NUL bytes are refused with a
 * sentence saying why. Symlinks are not followed; that is no hole, because `run_command` reaches
 * the whole sandbox anyway. The check keeps tools honest about what they touch, and keeps
 * writes out of `.git/`, which only git should change.
 */
export function resolveRepoPath(root: string, path: string, options: { write?: boolean } = {}): RepoPath {
  if (path.includes('\0')) throw new RepoPathError(`The path ${JSON.stringify(path)} contains a NUL byte.`);
  if (path.startsWith('~')) {
    throw new RepoPathError(`"${path}": ~ is not expanded here; give a path relative to the repo root.`);
  }
  if (path.startsWith('/')) throw new RepoPathError(absoluteRefusal(root, path));
  const normalised = posix.normalize(path === '' ? '.' : path).replace(/(.)\/+$/, '$1');
  if (normalised === '..' || normalised.startsWith('../')) {
    throw new RepoPathError(`"${path}" resolves outside the repo root; paths must stay inside the repo.`);
  }
  if (options.write && normalised === '.') {
    throw new RepoPathError(`"${path}" is the repo root itself; give a file path inside it.`);
  }
  if (options.write && (normalised === '.git' || normalised.startsWith('.git/'))) {
    throw new RepoPathError(`"${path}" is inside .git, which only git may change; use run_command with git instead.`);
  }
  return { relative: normalised, absolute: normalised === '.' ? root : posix.join(root, normalised) };
}

function absoluteRefusal(root: string, path: string): string {
  const prefix = `${root.replace(/\/+$/, '')}/`;
  if (path.startsWith(prefix) && path.length > prefix.length) {
    return `"${path}" is absolute; paths are relative to the repo root, so write "${path.slice(prefix.length)}".`;
  }
  return `"${path}" is absolute; paths are relative to the repo root (${root}), and nothing outside it can be reached.`;
}
