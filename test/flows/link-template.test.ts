import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/** `/ai-dev link owner/repo --template NAME`: the repo's sandboxes start from that E2B template. */
describe('a link’s --template picks the E2B template of the repo’s sandboxes', () => {
  let h: Harness;
  let confirmation = '';

  beforeAll(async () => {
    h = await startHarness({ sandbox: 'e2b', env: { E2B_TEMPLATE: 'base' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: { 'README.md': '# widgets\n' } });
    await h.github.addRepo({ owner: 'acme', name: 'gadgets', files: { 'README.md': '# gadgets\n' } });
    const { response } = await h.command('link acme/widgets --template acme/node-20:v2 --setup "echo ready"', {
      expectResponse: true,
      channel: 'C0TPL',
    });
    confirmation = response?.text ?? '';
    await h.command('link acme/gadgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const creates = () => (h.e2b?.requests ?? []).filter((r) => r.op === 'create');
  const sandboxOf = async (channel: string, root: string) =>
    (await h.bot.threads.get(channel, root))?.repos[0]?.sandboxId ?? '';
  const answer = (words: string) => [toolCalls([{ name: 'run_command', arguments: { command: 'ls' } }]), text(words)];

  it('a run in the channel linked with --template creates its sandbox from that template; others keep E2B_TEMPLATE', async () => {
    h.openai.script(answer('Listed the files.'));
    const templated = await h.mention('what is in this repo?', { channel: 'C0TPL' });
    expect(await h.waitForEnd(templated, 1, 'C0TPL')).toContain('No changes needed');
    const id = await sandboxOf('C0TPL', templated);
    expect(h.e2b?.sandbox(id)?.templateId).toBe('acme/node-20:v2');
    expect(creates().at(-1)?.body).toMatchObject({ templateID: 'acme/node-20:v2' });

    h.openai.script(answer('Listed them too.'));
    const plain = await h.mention('and in this one?');
    expect(await h.waitForEnd(plain)).toContain('No changes needed');
    expect(h.e2b?.sandbox(await sandboxOf('C0TEST', plain))?.templateId).toBe('base');
    expect(creates().map((r) => (r.body as { templateID?: string }).templateID)).toEqual(['acme/node-20:v2', 'base']);
    h.openai.assertDone();
  }, 60_000);

  it('the link confirmation and /ai-dev list name the set-up commands and the template', async () => {
    expect(confirmation).toContain('linked *acme/widgets*');
    expect(confirmation).toContain('Each new sandbox runs `echo ready` first.');
    expect(confirmation).toContain('E2B template `acme/node-20:v2`');
    const { response } = await h.command('list', { expectResponse: true, channel: 'C0TPL' });
    expect(response?.text).toMatch(/\*acme\/widgets\*.*set-up `echo ready`, template `acme\/node-20:v2`/);
  });

  it('a template E2B does not know, named by the link, is reported as the link’s to fix', async () => {
    // Refused every time: the eager start and the tool call's own attempt.
    h.e2b?.failNext({ op: 'create', status: 404, message: "template 'acme/node-20:v2' not found", times: 2 });
    h.openai.script([toolCalls([{ name: 'list_files', arguments: { path: '.' } }])]);
    const root = await h.mention('list the files', { channel: 'C0TPL' });
    const end = await h.waitForEnd(root, 1, 'C0TPL');
    expect(end).toContain('template "acme/node-20:v2", which this repo\'s link names');
    expect(end).toContain('/ai-dev link owner/repo --template NAME');
    expect(end).not.toContain('E2B_TEMPLATE');
    h.openai.assertDone();
  }, 60_000);
});
