import type { GitHubCredentials } from './credentials.js';
import { githubRequest } from './github-errors.js';
import type { OctokitFactory } from './octokit.js';
import { requestOptions } from './octokit.js';
import type { RepoRef } from './repo-ref.js';

/** The files a repo explains itself in, in the order they are looked for. */
export const GUIDANCE_FILES = ['AGENTS.md', 'CONTRIBUTING.md'] as const;
const GUIDANCE_MAX_CHARS = 12_000;
const GUIDANCE_MAX_BYTES = 256 * 1024;

/**
 * Reads a repo's guidance file from its base branch on GitHub, with the host's read credential: the
 * model's own edits in the sandbox never change what it is told, and a symlink or a huge file there
 * cannot make the bot read something else. Capped; absent → undefined.
 */
export async function readRepoGuidance(
  deps: { credentials: GitHubCredentials; octokitFor: OctokitFactory },
  repo: RepoRef,
  ref: string,
  signal?: AbortSignal,
): Promise<{ file: string; text: string } | undefined> {
  const octokit = deps.octokitFor(await deps.credentials.tokenFor(repo, 'read'));
  for (const file of GUIDANCE_FILES) {
    const data = await githubRequest(
      `read ${file} of ${repo.owner}/${repo.name}`,
      async () =>
        (
          await octokit.rest.repos.getContent({
            owner: repo.owner,
            repo: repo.name,
            path: file,
            ref,
            ...requestOptions(signal),
          })
        ).data,
      { signal, notFound: () => undefined },
    );
    // A directory, a symlink or a submodule of that name is not guidance.
    if (data === undefined || Array.isArray(data) || data.type !== 'file') continue;
    if (data.size > GUIDANCE_MAX_BYTES || !('content' in data) || data.encoding !== 'base64') {
      return { file, text: `[${file} is ${data.size} bytes, too large to pass on]` };
    }
    const text = Buffer.from(data.content, 'base64').toString('utf8');
    return { file, text: text.length > GUIDANCE_MAX_CHARS ? `${text.slice(0, GUIDANCE_MAX_CHARS)}\n[…cut]` : text };
  }
  return undefined;
}
