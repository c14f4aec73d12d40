import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hang, text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const FILES = { 'README.md': '# widgets\n', 'src/a.txt': 'alpha\n' };

/** A run that writes a file, commits and publishes. */
function publishRun(path: string, content: string, title = 'Add a file') {
  return [
    toolCalls([{ name: 'save_content_to_file', arguments: { path, content } }]),
    toolCalls([{ name: 'commit', arguments: { message: `Add ${path}` } }]),
    toolCalls([{ name: 'make_pull_request', arguments: { title, body: 'Adds a file.' } }]),
    text(`Added ${path}.`),
  ];
}

describe('E2B sandboxes across a thread’s life', () => {
  let h: Harness;

  beforeAll(async () => {
    // Sandboxes that reach their end are killed here (the default pauses them): these tests are about losing one.
    h = await startHarness({ sandbox: 'e2b', env: { SANDBOX_IDLE_ACTION: 'kill' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const sandboxOf = async (root: string) => (await h.bot.threads.get('C0TEST', root))?.repos[0]?.sandboxId ?? '';

  it('creates the sandbox with the template, a lifetime and metadata, and reconnects to it on a follow-up', async () => {
    h.openai.script(publishRun('one.txt', '1\n'));
    const root = await h.mention('add one.txt');
    const end = await h.waitForEnd(root);
    expect(end).toContain('Opened pull request');
    expect(end).toMatch(/\d+ sandbox s/);
    const id = await sandboxOf(root);
    const info = h.e2b?.sandbox(id);
    expect(info?.templateId).toBe('base');
    expect(info?.metadata).toMatchObject({ app: 'ai-dev', channel: 'C0TEST', thread: root, repo: 'acme/widgets' });
    // RUN_MAX_MINUTES + SANDBOX_IDLE_MINUTES (45 + 30), cut to what the E2B plan grants (60 min).
    expect(info?.requestedTimeoutMs).toBe(60 * 60_000);
    expect(info?.envVars).toEqual({});

    const list = await h.command('list', { expectResponse: true });
    expect(list.response?.text).toContain('Live sandboxes:');
    expect(list.response?.text).toContain(id);

    h.openai.script(publishRun('two.txt', '2\n'));
    await h.reply(root, 'and two.txt');
    const second = await h.waitForEnd(root, 2);
    expect(second).toContain('Updated pull request');
    expect(await sandboxOf(root)).toBe(id);
    expect(h.e2b?.sandbox(id)?.connectCount).toBeGreaterThanOrEqual(1);
    expect(h.e2b?.sandboxes().filter((s) => s.metadata.thread === root)).toHaveLength(1);
  });

  it('recovers from an expired sandbox by cloning the published branch, and says so', async () => {
    h.openai.script(publishRun('first.txt', 'first\n', 'Expiry test'));
    const root = await h.mention('add first.txt');
    await h.waitForEnd(root);
    const before = await sandboxOf(root);
    h.e2b?.expire(before);

    h.openai.script([
      toolCalls([{ name: 'read_file', arguments: { path: 'first.txt' } }]),
      (req) => {
        // The published work is there in the fresh sandbox.
        expect(req.functionCallOutputs[0]?.output).toContain('first');
        return toolCalls([{ name: 'save_content_to_file', arguments: { path: 'second.txt', content: 'second\n' } }]);
      },
      toolCalls([{ name: 'commit', arguments: { message: 'Add second.txt' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Expiry test', body: 'Two files.' } }]),
      text('Done.'),
    ]);
    await h.reply(root, 'now add second.txt');
    const end = await h.waitForEnd(root, 2);
    expect(end).toContain('Updated pull request');
    const after = await sandboxOf(root);
    expect(after).not.toBe(before);
    const thread = h
      .thread(root)
      .map((m) => m.text)
      .join('\n');
    expect(thread).toContain('The previous sandbox is gone. I started a fresh sandbox from the published branch');
    const state = await h.bot.threads.get('C0TEST', root);
    const branch = state?.repos[0]?.branch ?? '';
    expect(await h.github.readFile('acme', 'widgets', branch, 'first.txt')).toBe('first\n');
    expect(await h.github.readFile('acme', 'widgets', branch, 'second.txt')).toBe('second\n');
    expect(h.github.pulls('acme', 'widgets').filter((p) => p.headRef === branch)).toHaveLength(1);
    h.openai.assertDone();
  });

  it('tells the thread plainly when unpublished work was lost with the sandbox', async () => {
    h.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'draft.txt', content: 'draft\n' } }]),
      hang(),
    ]);
    const root = await h.mention('draft something');
    await h.openai.waitForRequests(h.openai.requests.length, 5000);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && h.openai.requests.at(-1)?.outcome !== 'hang') {
      await new Promise((r) => setTimeout(r, 20));
    }
    await h.click('ai_dev_stop', root);
    await h.waitForEnd(root);
    h.e2b?.expire(await sandboxOf(root));

    h.openai.script([
      (req) => {
        expect(req.inputText).toContain('try again');
        return toolCalls([{ name: 'list_files', arguments: { path: '.' } }]);
      },
      (req) => {
        expect(req.functionCallOutputs[0]?.output).not.toContain('draft.txt');
        return text('The draft is gone; starting over.');
      },
    ]);
    await h.reply(root, 'try again');
    await h.waitForEnd(root, 2);
    expect(
      h
        .thread(root)
        .map((m) => m.text)
        .join('\n'),
    ).toContain(
      'Nothing had been published yet, so I started a fresh sandbox from the base branch; earlier unpublished work is lost',
    );
    h.openai.assertDone();
  });

  it('ends the run with a clear message when E2B refuses the key, and retries a busy E2B', async () => {
    // Refused every time: the eager start and the tool call's own attempt.
    h.e2b?.failNext({ op: 'create', status: 401, message: 'Invalid API key', times: 2 });
    h.openai.script([toolCalls([{ name: 'list_files', arguments: { path: '.' } }])]);
    const root = await h.mention('list the files');
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/The run failed: .*E2B_API_KEY/);
    h.openai.assertDone();

    h.e2b?.failNext({ op: 'create', status: 503, times: 2 });
    h.openai.script([
      toolCalls([{ name: 'list_files', arguments: { path: '.' } }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toContain('README.md');
        return text('Listed.');
      },
    ]);
    await h.reply(root, 'try once more');
    expect(await h.waitForEnd(root, 2)).toContain('Listed');
    h.openai.assertDone();
  });

  it('ends the run plainly when the sandbox dies mid-run, and the next reply carries on', async () => {
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: 'touch .started; sleep 30' } }])]);
    const root = await h.mention('wait a while');
    const deadline = Date.now() + 10_000;
    let id = '';
    while (Date.now() < deadline) {
      id = await sandboxOf(root);
      // The command itself leaves a marker in the repo when it starts.
      if (id && (await exists(join(h.e2b?.homeDir(id) ?? '', 'widgets', '.started')))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    h.e2b?.kill(id);
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/The run failed: The sandbox for this thread is gone/);

    h.openai.script([
      (req) => {
        expect(req.functionCallOutputs).toHaveLength(1);
        return text('Back again.');
      },
    ]);
    await h.reply(root, 'carry on');
    expect(await h.waitForEnd(root, 2)).toContain('Back again');
    h.openai.assertDone();
  });

  it('kills the sandboxes of a repo when it is unlinked, and keeps a record of every live sandbox', async () => {
    const running = h.e2b?.sandboxes().filter((s) => s.state === 'running') ?? [];
    expect(running.length).toBeGreaterThan(0);
    const records = await h.command('list', { expectResponse: true });
    for (const sandbox of running) expect(records.response?.text).toContain(sandbox.sandboxId);

    const unlink = await h.command('unlink acme/widgets', { expectResponse: true });
    expect(unlink.response?.text).toContain('unlinked');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && h.e2b?.sandboxes().some((s) => s.state === 'running')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(h.e2b?.sandboxes().filter((s) => s.state === 'running')).toEqual([]);
    const after = await h.command('list', { expectResponse: true });
    expect(after.response?.text).not.toContain('Live sandboxes');
  });
});

describe.each(['kill', 'pause'] as const)('an idle thread’s sandbox (SANDBOX_IDLE_ACTION=%s)', (action) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      sandbox: 'e2b',
      env: { SANDBOX_IDLE_ACTION: action },
      idleSweep: { idleMs: 400, intervalMs: 100 },
    });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`is ${action === 'kill' ? 'killed' : 'paused'} after the idle time, and the next follow-up carries on`, async () => {
    h.openai.script(publishRun('idle.txt', 'idle\n'));
    const root = await h.mention('add idle.txt');
    await h.waitForEnd(root);
    const id = (await h.bot.threads.get('C0TEST', root))?.repos[0]?.sandboxId ?? '';
    const want = action === 'kill' ? 'killed' : 'paused';
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && h.e2b?.sandbox(id)?.state !== want) await new Promise((r) => setTimeout(r, 25));
    expect(h.e2b?.sandbox(id)?.state).toBe(want);

    h.openai.script([
      toolCalls([{ name: 'read_file', arguments: { path: 'idle.txt' } }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toContain('idle');
        return text('Still there.');
      },
    ]);
    await h.reply(root, 'is idle.txt still there?');
    const end = await h.waitForEnd(root, 2);
    expect(end).toContain('Still there');
    const now = (await h.bot.threads.get('C0TEST', root))?.repos[0]?.sandboxId;
    // A paused sandbox is resumed; a killed one is replaced from the published branch.
    if (action === 'pause') expect(now).toBe(id);
    else expect(now).not.toBe(id);
    h.openai.assertDone();
  });
});

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
