import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

function addFile(path: string, content: string) {
  return [
    toolCalls([{ name: 'save_content_to_file', arguments: { path, content } }]),
    toolCalls([{ name: 'make_pull_request', arguments: { title: `Add ${path}`, body: `Adds ${path}.` } }]),
    text(`Added ${path}.`),
  ];
}

describe('what people do to the pull request between messages', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const branchOf = async (root: string) => (await h.bot.threads.get('C0TEST', root))?.repos[0]?.branch ?? '';

  it('a merged PR: the follow-up goes to a new branch and a new PR, and the thread is told', async () => {
    h.openai.script(addFile('one.txt', '1\n'));
    const root = await h.mention('add one.txt');
    expect(await h.waitForEnd(root)).toContain('Opened pull request');
    const first = h.github.pulls('acme', 'widgets').at(-1);
    const oldBranch = await branchOf(root);
    await h.github.mergePull('acme', 'widgets', first?.number ?? 0);

    h.openai.script(addFile('two.txt', '2\n'));
    await h.reply(root, 'add two.txt as well');
    const end = await h.waitForEnd(root, 2);
    expect(end).toMatch(/Opened pull request <[^|]+\|#\d+>/);
    const newBranch = await branchOf(root);
    expect(newBranch).not.toBe(oldBranch);
    expect(newBranch).toMatch(/^ai-dev\/add-one-txt-[0-9a-f]{6}$/);
    const pulls = h.github.pulls('acme', 'widgets');
    expect(pulls.filter((p) => p.state === 'open').map((p) => p.headRef)).toEqual([newBranch]);
    expect(await h.github.readFile('acme', 'widgets', newBranch, 'two.txt')).toBe('2\n');
    expect(
      h
        .thread(root)
        .map((m) => m.text)
        .join('\n'),
    ).toContain(`was already merged, so the new work goes on the new branch`);
    h.openai.assertDone();
  });

  it('a PR closed by a person is reopened by the follow-up', async () => {
    h.openai.script(addFile('three.txt', '3\n'));
    const root = await h.mention('add three.txt');
    await h.waitForEnd(root);
    const pr = h.github.pulls('acme', 'widgets').find((p) => p.title === 'Add three.txt');
    h.github.closePull('acme', 'widgets', pr?.number ?? 0);

    h.openai.script(addFile('four.txt', '4\n'));
    await h.reply(root, 'and four.txt');
    expect(await h.waitForEnd(root, 2)).toContain(`Updated pull request`);
    const after = h.github.pulls('acme', 'widgets').find((p) => p.number === pr?.number);
    expect(after?.state).toBe('open');
    h.openai.assertDone();
  });

  it('a branch someone else pushed to is not overwritten; the run ends saying so', async () => {
    h.openai.script(addFile('five.txt', '5\n'));
    const root = await h.mention('add five.txt');
    await h.waitForEnd(root);
    const branch = await branchOf(root);
    const before = await h.github.refSha('acme', 'widgets', `heads/${branch}`);
    await pushAsSomeoneElse(h, branch);
    const moved = await h.github.refSha('acme', 'widgets', `heads/${branch}`);
    expect(moved).not.toBe(before);

    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'six.txt', content: '6\n' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add six', body: 'Six.' } }]),
    ]);
    await h.reply(root, 'add six.txt');
    const end = await h.waitForEnd(root, 2);
    expect(end).toMatch(/The run failed: The branch .* changed on GitHub since I last published it/);
    expect(await h.github.refSha('acme', 'widgets', `heads/${branch}`)).toBe(moved);
    h.openai.assertDone();
  });
});

/** A commit made straight on GitHub (through the REST API, as a person's web edit would). */
async function pushAsSomeoneElse(h: Harness, branch: string): Promise<void> {
  const { Octokit } = await import('@octokit/rest');
  const octokit = new Octokit({ auth: h.env.GITHUB_TOKEN, baseUrl: h.github.apiUrl });
  const ref = await octokit.git.getRef({ owner: 'acme', repo: 'widgets', ref: `heads/${branch}` });
  const parent = await octokit.git.getCommit({ owner: 'acme', repo: 'widgets', commit_sha: ref.data.object.sha });
  const tree = await octokit.git.createTree({
    owner: 'acme',
    repo: 'widgets',
    base_tree: parent.data.tree.sha,
    tree: [{ path: 'human.txt', mode: '100644', type: 'blob', content: 'a person was here\n' }],
  });
  const commit = await octokit.git.createCommit({
    owner: 'acme',
    repo: 'widgets',
    message: 'A person’s change',
    tree: tree.data.sha,
    parents: [ref.data.object.sha],
  });
  await octokit.git.updateRef({ owner: 'acme', repo: 'widgets', ref: `heads/${branch}`, sha: commit.data.sha });
}
