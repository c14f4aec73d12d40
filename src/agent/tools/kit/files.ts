import type { Workspace } from '../../../sandbox/workspace.js';
import type { RepoPath } from './repo-path.js';
import { ToolError } from './tool-error.js';

type FileOperation = 'read' | 'list' | 'write' | 'mkdir';
type FileProblem = 'not-found' | 'not-a-directory' | 'is-a-directory' | 'exists' | 'permission';

/**
 * Turns a file-system error from a sandbox into a sentence about the repo path the model gave
 * (never the absolute path inside the sandbox), or hands back the error when it is something
 * else, such as the sandbox being gone.
 */
export function fileError(error: unknown, path: RepoPath, operation: FileOperation): unknown {
  const problem = fileProblem(error);
  const name = path.relative;
  switch (problem) {
    case 'not-found':
      return new ToolError(
        operation === 'list' ? `${name} does not exist.` : `${name} does not exist; list_files shows what is there.`,
      );
    case 'not-a-directory':
      return new ToolError(
        operation === 'list'
          ? `${name} is a file, not a directory; use read_file to read it.`
          : `${name}: part of that path is a file, not a directory.`,
      );
    case 'is-a-directory':
      return new ToolError(`${name} is a directory; use list_files to see what is in it.`);
    case 'exists':
      return new ToolError(`${name} (or a directory above it) already exists as a file.`);
    case 'permission':
      return new ToolError(`Permission denied for ${name}.`);
    default:
      return error;
  }
}

/** Looks through the cause chain, since sandbox adapters wrap what the file system or SDK threw. */
function fileProblem(error: unknown): FileProblem | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || current.name === 'FileNotFoundError') return 'not-found';
    if (code === 'ENOTDIR') return 'not-a-directory';
    if (code === 'EISDIR') return 'is-a-directory';
    if (code === 'EEXIST') return 'exists';
    if (code === 'EACCES' || code === 'EPERM') return 'permission';
    current = current.cause;
  }
  return undefined;
}

export async function readBytes(workspace: Workspace, path: RepoPath): Promise<Uint8Array> {
  try {
    return await workspace.sandbox.readFile(path.absolute);
  } catch (error) {
    throw fileError(error, path, 'read');
  }
}

/** The file's bytes, or undefined when there is no file yet. */
export async function readIfExists(workspace: Workspace, path: RepoPath): Promise<Uint8Array | undefined> {
  try {
    return await workspace.sandbox.readFile(path.absolute);
  } catch (error) {
    if (fileProblem(error) === 'not-found') return undefined;
    throw fileError(error, path, 'read');
  }
}

/** Reads a UTF-8 text file; a binary one is refused with a sentence saying what to do instead. */
export async function readText(workspace: Workspace, path: RepoPath): Promise<string> {
  const bytes = await readBytes(workspace, path);
  const text = decodeText(bytes);
  if (text === undefined) {
    throw new ToolError(
      `${path.relative} is a binary file (${bytes.length} bytes), not UTF-8 text, so it is not shown; ` +
        'use run_command (e.g. `file`, `xxd | head`) to inspect it.',
    );
  }
  return text;
}

/**
 * Decodes UTF-8 text, or undefined for binary content: a NUL byte in the first 8000 bytes (git's
 * own test) or bytes that are not valid UTF-8. A byte order mark is kept so a rewrite keeps it.
 */
export function decodeText(bytes: Uint8Array): string | undefined {
  if (bytes.subarray(0, 8000).includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
