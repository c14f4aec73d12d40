import type { Workspace } from '../../../sandbox/workspace.js';
import type { RepoPath } from './repo-path.js';
import { ToolError } from './tool-error.js';

type FileOperation = 'read' | 'list' | 'write' | 'mkdir';
type FileProblem =
  | 'not-found'
  | 'not-a-directory'
  | 'is-a-directory'
  | 'exists'
  | 'permission'
  | 'too-large'
  | 'not-a-file';

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
    case 'too-large':
      return new ToolError(
        `${name} is larger than ${MAX_TOOL_FILE_BYTES} bytes (or never ends), so it is not read here; look at parts of it with run_command (head -c, sed -n '1,200p', grep).`,
      );
    case 'not-a-file':
      return new ToolError(`${name} is not a regular file (a device, a pipe or a socket), so it is not read.`);
    default:
      return error;
  }
}

/** Looks through the cause chain, since sandbox adapters wrap what the file system or SDK threw. */
function fileProblem(error: unknown): FileProblem | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code === 'file_too_large') return 'too-large';
    if (code === 'not_a_file' && (current.cause as NodeJS.ErrnoException | undefined)?.code !== 'EISDIR') {
      return 'not-a-file';
    }
    if (code === 'ENOENT' || current.name === 'FileNotFoundError') return 'not-found';
    if (code === 'ENOTDIR') return 'not-a-directory';
    if (code === 'EISDIR') return 'is-a-directory';
    if (code === 'EEXIST') return 'exists';
    if (code === 'EACCES' || code === 'EPERM') return 'permission';
    current = current.cause;
  }
  return undefined;
}

/** The most a tool reads from or writes to one file: a bigger one is worked with through commands. */
export const MAX_TOOL_FILE_BYTES = 2 * 1024 * 1024;

export async function readBytes(workspace: Workspace, path: RepoPath): Promise<Uint8Array> {
  try {
    return await workspace.sandbox.readFile(path.absolute, { maxBytes: MAX_TOOL_FILE_BYTES });
  } catch (error) {
    throw fileError(error, path, 'read');
  }
}

/** Refuses content too big to write through a tool, with what to do instead. */
export function checkWriteSize(path: RepoPath, content: string): void {
  const bytes = Buffer.byteLength(content, 'utf8');
  if (bytes > MAX_TOOL_FILE_BYTES) {
    throw new ToolError(
      `${path.relative} would be ${bytes} bytes, more than the ${MAX_TOOL_FILE_BYTES} bytes a tool writes; generate big files with run_command instead.`,
    );
  }
}

/** The file's bytes, undefined when there is no file yet, or `too-large` when it is too big to read here. */
export async function readIfExists(
  workspace: Workspace,
  path: RepoPath,
): Promise<Uint8Array | undefined | 'too-large'> {
  try {
    return await workspace.sandbox.readFile(path.absolute, { maxBytes: MAX_TOOL_FILE_BYTES });
  } catch (error) {
    const problem = fileProblem(error);
    if (problem === 'not-found') return undefined;
    if (problem === 'too-large') return 'too-large';
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
