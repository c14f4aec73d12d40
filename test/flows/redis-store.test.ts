import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

// The same flow with STORE_URL on the real Redis at 127.0.0.1:6379. (Several instances sharing it run on
// Restate: test/flows/restate-engine.test.ts.)
describe('a run with the Redis store', () => {
  let h: Harness;
  // Redis outlives test runs: a channel of its own keeps this run's keys apart.
  const channel = `C${randomUUID().replaceAll('-', '').slice(0, 10).toUpperCase()}`;

  beforeAll(async () => {
    h = await startHarness({ env: { STORE_URL: `redis://127.0.0.1:6379?namespace=test-${randomUUID()}` } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    const { response } = await h.command('link acme/widgets', { channel, expectResponse: true });
    expect(response?.text).toContain('linked *acme/widgets*');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('opens a PR, survives a restart, and the follow-up updates the same PR', async () => {
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'a.txt', content: 'a\n' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add a.txt', body: 'Adds a.' } }]),
      text('Added a.txt.'),
    ]);
    const root = await h.mention('add a.txt', { channel });
    expect(await h.waitForEnd(root, 1, channel)).toContain('Opened pull request');

    await h.restart();
    const list = await h.command('list', { channel, expectResponse: true });
    expect(list.response?.text).toContain('*acme/widgets*');

    h.openai.script([
      (req) => {
        expect(req.conversationId).toBe(h.openai.requests[0]?.conversationId);
        return toolCalls([{ name: 'save_content_to_file', arguments: { path: 'b.txt', content: 'b\n' } }]);
      },
      text('Added b.txt too.'),
    ]);
    await h.reply(root, 'add b.txt too', { channel });
    // The model did not publish; the bot commits and publishes what it left.
    expect(await h.waitForEnd(root, 2, channel)).toContain('Updated pull request');
    const pulls = h.github.pulls('acme', 'widgets');
    expect(pulls).toHaveLength(1);
    const branch = pulls[0]?.headRef ?? '';
    expect(await h.github.readFile('acme', 'widgets', branch, 'b.txt')).toBe('b\n');
    h.openai.assertDone();
  });
});
