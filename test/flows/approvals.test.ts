import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const REPO_FILES = { 'README.md': '# widgets\n' };
// A workflow that would print every repository secret on push: the attack the gate exists for.
const WORKFLOW = `on: push\njobs:\n  leak:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "$${'{{'} toJSON(secrets) }}"\n`;

/** The latest Approve button's value (thread key and fingerprint) in the thread. */
function approveValue(h: Harness, root: string): string {
  const values = h.slack
    .threadMessages('C0TEST', root)
    .map((m) => JSON.stringify(m.blocks ?? []).match(/"action_id":"ai_dev_approve"[^}]*"value":"([^"]+)"/)?.[1])
    .filter((v): v is string => v !== undefined);
  const last = values.at(-1);
  if (!last) throw new Error('no Approve button in the thread');
  return last;
}

const addWorkflow = () => [
  toolCalls([
    { name: 'save_content_to_file', arguments: { path: '.github/workflows/ci.yml', content: WORKFLOW } },
    { name: 'commit', arguments: { message: 'Add CI' } },
  ]),
  toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]),
];

describe('CI configuration waits for an approval in the thread', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_LINK_USERS: 'U0ADMIN' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: REPO_FILES });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0ADMIN' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('holds a workflow change, refuses a non-approver, and publishes once an approver presses Approve', async () => {
    h.openai.script(addWorkflow());
    const root = await h.mention('add a CI workflow');
    const end = await h.waitForEnd(root);
    expect(end).toContain(':raised_hand: Waiting for an approval');
    expect(end).toContain('.github/workflows/ci.yml');
    expect(await h.github.branches('acme', 'widgets')).toEqual(['main']);
    const value = approveValue(h, root);
    expect(value).toMatch(/^C0TEST:\d+\.\d+\|[0-9a-f]{24}$/);

    // Someone who may run but not approve: told no, nothing runs.
    const requests = h.openai.requests.length;
    await h.click('ai_dev_approve', root, { value, user: 'U0USER' });
    const refused = await h.slack.waitForResponse((r) =>
      /only the people who may link repos/.test(String(r.body.text)),
    );
    expect(refused.body.response_type).toBe('ephemeral');
    expect(h.openai.requests.length).toBe(requests);
    expect(await h.github.branches('acme', 'widgets')).toEqual(['main']);

    // The approver: the run goes on, and the model publishes what was approved.
    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('I approve publishing the changes to .github/workflows/ci.yml');
        // The make_pull_request call that stopped the run gets its answer first.
        expect(req.functionCallOutputs.at(0)?.output).toMatch(/approval/);
        return toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]);
      },
      text('Published the approved workflow.'),
    ]);
    await h.click('ai_dev_approve', root, { value, user: 'U0ADMIN' });
    const published = await h.waitForEnd(root, 2);
    expect(published).toMatch(/Opened pull request/);
    const state = await h.bot.threads.get('C0TEST', root);
    const branch = state?.repos[0]?.branch ?? '';
    expect(await h.github.readFile('acme', 'widgets', branch, '.github/workflows/ci.yml')).toBe(WORKFLOW);
    expect(state?.repos[0]?.approvals).toHaveLength(1);
  });

  it('asks again when the approved file changes afterwards', async () => {
    h.openai.script(addWorkflow());
    const root = await h.mention('add a CI workflow again');
    await h.waitForEnd(root);
    const value = approveValue(h, root);
    h.openai.script([
      toolCalls([
        {
          name: 'save_content_to_file',
          arguments: { path: '.github/workflows/ci.yml', content: `${WORKFLOW}# and more\n` },
        },
        { name: 'commit', arguments: { message: 'Change CI after the approval' } },
      ]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]),
    ]);
    await h.click('ai_dev_approve', root, { value, user: 'U0ADMIN' });
    const again = await h.waitForEnd(root, 2);
    expect(again).toContain(':raised_hand: Waiting for an approval');
    expect(approveValue(h, root)).not.toBe(value);
  });
});

describe('without ALLOW_LINK_USERS, the workspace admins approve', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    h.slack.setUser('U0BOSS', { real_name: 'The Boss', is_admin: true });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: REPO_FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an admin may approve; the person who asked may not', async () => {
    h.openai.script(addWorkflow());
    const root = await h.mention('add a CI workflow');
    await h.waitForEnd(root);
    const value = approveValue(h, root);
    await h.click('ai_dev_approve', root, { value, user: 'U0USER' });
    await h.slack.waitForResponse((r) => /workspace’s admins and owners/.test(String(r.body.text)));
    h.openai.script([
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]),
      text('Done.'),
    ]);
    await h.click('ai_dev_approve', root, { value, user: 'U0BOSS' });
    expect(await h.waitForEnd(root, 2)).toMatch(/Opened pull request/);
  });
});
