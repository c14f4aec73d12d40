import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

describe('a channel with several linked repos', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.github.addRepo({ owner: 'acme', name: 'gadgets', files: { 'README.md': '# gadgets\n' } });
    await h.command('link acme/widgets', { expectResponse: true });
    await h.command('link acme/gadgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('gives the model both repos; a sandbox only for the repo it touches; one PR per repo changed', async () => {
    h.openai.script([
      (req) => {
        expect(String(req.body.instructions)).toContain('acme/widgets');
        expect(String(req.body.instructions)).toContain('acme/gadgets');
        return toolCalls([{ name: 'list_files', arguments: { path: '.' } }]);
      },
      (req) => {
        expect(String(req.functionCallOutputs[0]?.output)).toMatch(/Several repos are linked .*pass repo/);
        return toolCalls([
          { name: 'save_content_to_file', arguments: { path: 'g.txt', content: 'g\n', repo: 'acme/gadgets' } },
          { name: 'save_content_to_file', arguments: { path: 'w.txt', content: 'w\n', repo: 'widgets' } },
        ]);
      },
      toolCalls([
        { name: 'make_pull_request', arguments: { title: 'Add g', body: 'G.', repo: 'acme/gadgets' } },
        { name: 'make_pull_request', arguments: { title: 'Add w', body: 'W.', repo: 'acme/widgets' } },
      ]),
      text('Both done.'),
    ]);
    const root = await h.mention('add a file to each repo');
    const first = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root);
    expect(String(first.args.text)).toContain('acme/widgets, acme/gadgets');
    const end = await h.waitForEnd(root);
    const gadgets = h.github.pulls('acme', 'gadgets');
    const widgets = h.github.pulls('acme', 'widgets');
    expect(gadgets).toHaveLength(1);
    expect(widgets).toHaveLength(1);
    expect(end).toMatch(/acme\/gadgets\/pull\/\d+/);
    expect(end).toMatch(/acme\/widgets\/pull\/\d+/);
    h.openai.assertDone();
  });

  it('a repo named in the task is the only one used', async () => {
    h.openai.script([
      (req) => {
        expect(String(req.body.instructions)).toContain('acme/gadgets');
        expect(String(req.body.instructions)).not.toContain('acme/widgets');
        return toolCalls([{ name: 'list_files', arguments: { path: '.' } }]);
      },
      (req) => {
        expect(String(req.functionCallOutputs[0]?.output)).toContain('README.md');
        return text('Listed gadgets.');
      },
    ]);
    const root = await h.mention('list the files of gadgets');
    expect(await h.waitForEnd(root)).toContain('Listed gadgets');
    h.openai.assertDone();
  });
});
