import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const WORKFLOW = 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n';
/** A classic token with `repo` but without the `workflow` scope, as many operators create them. */
const NO_WORKFLOW_TOKEN = 'ghp_repo_only_token_0123456789';

describe('an approved workflow change with a credential that may not write workflows', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { ALLOW_LINK_USERS: 'U0ADMIN', GITHUB_TOKEN: NO_WORKFLOW_TOKEN } });
    h.github.addToken(NO_WORKFLOW_TOKEN, { login: 'test-user', kind: 'user', scopes: ['repo'] });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true, user: 'U0ADMIN' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('says which permission is missing, and publishes nothing half-way', async () => {
    h.openai.script([
      toolCalls([
        { name: 'save_content_to_file', arguments: { path: '.github/workflows/ci.yml', content: WORKFLOW } },
        { name: 'commit', arguments: { message: 'Add CI' } },
      ]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]),
    ]);
    const root = await h.mention('add a CI workflow');
    expect(await h.waitForEnd(root)).toContain(':raised_hand: Waiting for an approval');
    const value = h.slack
      .threadMessages('C0TEST', root)
      .map((m) => JSON.stringify(m.blocks ?? []).match(/"action_id":"ai_dev_approve"[^}]*"value":"([^"]+)"/)?.[1])
      .filter((v): v is string => v !== undefined)
      .at(-1);
    expect(value).toBeDefined();

    // The refusal ends the run: the model is not asked again.
    h.openai.script([
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add CI', body: 'Adds a workflow.' } }]),
    ]);
    await h.click('ai_dev_approve', root, { value: value ?? '', user: 'U0ADMIN' });
    const end = await h.waitForEnd(root, 2);
    expect(end).toContain('may not change workflows');
    expect(end).toContain('`workflow` scope');
    // Nothing published: no branch, no pull request.
    expect(await h.github.branches('acme', 'widgets')).toEqual(['main']);
    expect(h.github.pulls('acme', 'widgets')).toEqual([]);
  });
});
