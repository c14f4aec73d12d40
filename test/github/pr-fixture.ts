import type { Octokit } from '@octokit/rest';
import type { FakeGitHub } from '../fakes/github-server.js';

export interface PrFixture {
  owner: string;
  name: string;
  number: number;
  headSha: string;
  branch: string;
}

/**
 * A repo on the fake with one open PR from `ai-dev/<name>` that changes `files`, made through the REST
 * API as the bot makes them (the token's user opens it).
 */
export async function repoWithPullRequest(
  fake: FakeGitHub,
  octokit: Octokit,
  options: { owner?: string; name: string; base?: Record<string, string>; files: Record<string, string> },
): Promise<PrFixture> {
  const owner = options.owner ?? 'acme';
  const { name } = options;
  const base = await fake.addRepo({ owner, name, private: true, files: options.base ?? { 'README.md': '# x\n' } });
  const repo = { owner, repo: name };
  const baseTree = (await octokit.rest.git.getCommit({ ...repo, commit_sha: base })).data.tree.sha;
  const tree = await octokit.rest.git.createTree({
    ...repo,
    base_tree: baseTree,
    tree: Object.entries(options.files).map(([path, content]) => ({
      path,
      mode: '100644' as const,
      type: 'blob' as const,
      content,
    })),
  });
  const commit = await octokit.rest.git.createCommit({
    ...repo,
    message: `Change ${name}`,
    tree: tree.data.sha,
    parents: [base],
  });
  const branch = `ai-dev/${name}`;
  await octokit.rest.git.createRef({ ...repo, ref: `refs/heads/${branch}`, sha: commit.data.sha });
  const pr = await octokit.rest.pulls.create({ ...repo, title: name, head: branch, base: 'main', body: 'Body' });
  return { owner, name, number: pr.data.number, headSha: commit.data.sha, branch };
}
