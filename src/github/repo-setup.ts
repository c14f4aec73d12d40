import type { Octokit } from '@octokit/rest';
import { githubRequest } from './github-errors.js';
import { requestOptions } from './octokit.js';
import { fullName, type RepoRef } from './repo-ref.js';

/** Where a repo declares the commands that make a new sandbox ready (install tools, dependencies). */
export const SETUP_SCRIPT_PATH = '.ai-dev/setup.sh';
/** A set-up script longer than this is refused, not run. */
export const SETUP_SCRIPT_MAX_BYTES = 64 * 1024;

export interface SetupScript {
  path: string;
  /** The branch it was read from. */
  ref: string;
  /** Its blob sha: the same sha means the same script (a sandbox that ran it need not run it again). */
  sha: string;
  text: string;
  bytes: number;
}

export type SetupScriptResult =
  | { ok: true; script: SetupScript }
  /** There is something at the path, but not a script the bot will run; `reason` says why, for the thread. */
  | { ok: false; path: string; ref: string; reason: string };

export interface ReadSetupScriptOptions {
  path?: string;
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Reads the repo's set-up script from its base branch through the contents API (never from the bot's
 * branch, which a run's model could have written). Undefined when there is none; a directory, a link
 * pointing out of the file, a binary or an oversized file is a problem to report, not something to run.
 */
export async function readSetupScript(
  octokit: Octokit,
  repo: RepoRef,
  baseBranch: string,
  options: ReadSetupScriptOptions = {},
): Promise<SetupScriptResult | undefined> {
  const path = options.path ?? SETUP_SCRIPT_PATH;
  const maxBytes = options.maxBytes ?? SETUP_SCRIPT_MAX_BYTES;
  const { signal } = options;
  const data = await githubRequest(
    `read ${path} of ${fullName(repo)} at ${baseBranch}`,
    async () =>
      (
        await octokit.rest.repos.getContent({
          owner: repo.owner,
          repo: repo.name,
          path,
          ref: baseBranch,
          ...requestOptions(signal),
        })
      ).data,
    // No such file (or no such branch): the repo declares no set-up.
    { signal, notFound: () => undefined },
  );
  if (data === undefined) return undefined;
  const refuse = (reason: string): SetupScriptResult => ({ ok: false, path, ref: baseBranch, reason });
  if (Array.isArray(data)) return refuse(`${path} is a directory, not a script`);
  if (data.type !== 'file') return refuse(`${path} is a ${data.type}, not a file`);
  const limit = `${Math.round(maxBytes / 1024)} KB`;
  if (data.size > maxBytes) return refuse(`${path} is ${data.size} bytes; a set-up script may have at most ${limit}`);
  if (!('content' in data) || data.encoding !== 'base64') {
    return refuse(`GitHub did not send the content of ${path} (encoding ${String(data.encoding)})`);
  }
  const bytes = Buffer.from(data.content, 'base64');
  if (bytes.length > maxBytes)
    return refuse(`${path} is ${bytes.length} bytes; a set-up script may have at most ${limit}`);
  const text = bytes.toString('utf8');
  if (bytes.includes(0) || !Buffer.from(text, 'utf8').equals(bytes)) {
    return refuse(`${path} is not a text file (it is not UTF-8)`);
  }
  return { ok: true, script: { path: data.path, ref: baseBranch, sha: data.sha, text, bytes: bytes.length } };
}
