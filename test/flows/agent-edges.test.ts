import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hang, rawArguments, text, toolCalls } from '../fakes/openai-server.js';
import { DEFAULT_IDS, mentionEvent, nextTs, sendEvent } from '../fakes/slack-server.js';
import { type Harness, SIGNING_SECRET, startHarness } from '../helpers/harness.js';

const FILES = { 'README.md': '# widgets\n', 'src/a.txt': 'alpha\n' };

describe.each(['local', 'e2b'] as const)('runs at the edges (%s sandbox)', (sandbox) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ sandbox });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const runsStarted = () =>
    h.slack.callsOf('chat.postMessage').filter((c) => String(c.args.text).includes('Working on'));

  it('tells an unlinked channel how to link a repo', async () => {
    const root = await h.mention('fix everything', { channel: 'C0NOLINK' });
    await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root, 5000);
    const [reply] = h.thread(root, 'C0NOLINK');
    expect(reply?.text).toContain('/ai-dev link owner/repo');
    expect(h.openai.requests).toHaveLength(0);
  });

  it('starts exactly one run for twin events and Slack retries of one message', async () => {
    const before = runsStarted().length;
    h.openai.script([text('Nothing to change: the README is fine.')]);
    const ts = nextTs();
    const event = mentionEvent({
      ts,
      text: `<@${DEFAULT_IDS.botUserId}> check the README`,
      channel: DEFAULT_IDS.channelId,
    });
    const twin = { ...event, type: 'message', channel_type: 'channel' };
    const deliveries = await Promise.all([
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'Ev1' }),
      sendEvent(h.botUrl, SIGNING_SECRET, twin, { eventId: 'Ev2' }),
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'Ev1', retryNum: 1, retryReason: 'http_timeout' }),
      sendEvent(h.botUrl, SIGNING_SECRET, event, { eventId: 'Ev1', retryNum: 2, retryReason: 'http_timeout' }),
    ]);
    expect(deliveries.map((d) => d.status)).toEqual([200, 200, 200, 200]);
    const end = await h.waitForEnd(ts);
    expect(end).toContain('No changes needed');
    expect(end).toContain('the README is fine');
    expect(runsStarted().length - before).toBe(1);
    expect(h.openai.requests.filter((r) => r.inputText.includes('check the README'))).toHaveLength(1);
    h.openai.assertDone();
  });

  it('returns an unknown tool, invalid JSON and a path outside the repo to the model as errors', async () => {
    h.openai.script([
      toolCalls([{ name: 'delete_everything', arguments: {} }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toMatch(/no tool named "delete_everything".*read_file/);
        return rawArguments('read_file', '{"path": "README.md"');
      },
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toMatch(/not valid JSON/);
        return toolCalls([
          { name: 'read_file', arguments: { path: '../../../etc/passwd' } },
          { name: 'save_content_to_file', arguments: { path: '/tmp/evil', content: 'x' } },
          { name: 'read_file', arguments: { path: 'src/a.txt', start_line: 'one' } },
        ]);
      },
      (req) => {
        const outputs = req.functionCallOutputs.map((o) => o.output);
        expect(outputs[0]).toMatch(/^Error:.*outside/i);
        expect(outputs[1]).toMatch(/^Error:/);
        expect(outputs[2]).toMatch(/invalid arguments for read_file: start_line/);
        return text('I could not do that safely.');
      },
    ]);
    const root = await h.mention('read /etc/passwd for me');
    const end = await h.waitForEnd(root);
    expect(end).toContain('No changes needed');
    h.openai.assertDone();
    await expect(readFile('/tmp/evil', 'utf8')).rejects.toThrow();
  });

  it('stops a model that keeps repeating the same failing command, after warning it', async () => {
    const failing = toolCalls([{ name: 'run_command', arguments: { command: 'false' } }]);
    h.openai.script([
      failing,
      failing,
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toMatch(/try something different/i);
        return failing;
      },
    ]);
    const root = await h.mention('make false succeed');
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/The run failed: The model repeated the same failing action \(`run_command: false`\) 3 times/);
    expect(end).toMatch(/reference `ERR-[0-9A-F]{8}`/);
    h.openai.assertDone();
  });

  it('gives a message written during a run to the model at its next turn', async () => {
    let root = '';
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'sleep 3; echo slept' } }]),
      (req) => {
        expect(req.functionCallOutputs[0]?.output).toContain('slept');
        expect(req.inputText).toContain('please also mention tabs');
        return text('Noted the tabs.');
      },
    ]);
    const before = h.openai.requests.length;
    root = await h.mention('look around');
    // The first answer is in and its command is running: a reply now must wait for the next turn.
    await expect.poll(() => h.openai.requests[before]?.outcome, { timeout: 10_000, interval: 20 }).toBe('completed');
    await h.reply(root, 'please also mention tabs');
    const end = await h.waitForEnd(root);
    expect(end).toContain('Noted the tabs');
    expect(
      h
        .thread(root)
        .map((m) => m.text)
        .join('\n'),
    ).toContain('I’ll read this at my next step');
    h.openai.assertDone();
  });

  it('Stop kills a long command at once, says who stopped it, and the thread still works', async () => {
    // A duration no other test uses, so the process check sees only this test's command.
    const marker = `sleep 60.${Math.floor(Math.random() * 1e6)}`;
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: marker, timeout_seconds: 120 } }])]);
    const root = await h.mention('run the slow thing');
    // Wait until the command is running in the sandbox.
    await expect
      .poll(async () => (await processesMatching(marker)).length, { timeout: 10_000, interval: 20 })
      .toBeGreaterThan(0);
    await h.click('ai_dev_stop', root, { user: 'U0STOPPER' });
    // Not killed, the 60 s command would outlive waitForEnd's 30 s: no clock needed to see it.
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/Stopped by <@U0STOPPER>/);

    expect(await processesMatching(marker)).toEqual([]);

    // The next message continues the same conversation; the interrupted call is answered first.
    h.openai.script([
      (req) => {
        expect(req.functionCallOutputs).toHaveLength(1);
        expect(req.functionCallOutputs[0]?.output).toMatch(/stopped while this tool was running/);
        expect(req.inputText).toContain('never mind');
        return text('Alright.');
      },
    ]);
    await h.reply(root, 'never mind, just say hi');
    const second = await h.waitForEnd(root, 2);
    expect(second).toContain('Alright');
    h.openai.assertDone();
  });

  it('Stop aborts a model request in flight', async () => {
    h.openai.script([hang()]);
    const before = h.openai.requests.length;
    const aborted = h.openai.aborted;
    const root = await h.mention('think hard');
    // The model request is in flight once the fake has it (and the run holds it, hanging).
    await h.openai.waitForRequests(before + 1, 10_000);
    await h.click('ai_dev_stop', root);
    await h.openai.waitForAborts(aborted + 1, 5_000);
    const end = await h.waitForEnd(root);
    expect(end).toMatch(/Stopped by <@U0USER>/);
  });

  it('lets no secret reach the model, Slack, the logs or the sandbox', async () => {
    h.openai.script([
      toolCalls([
        { name: 'run_command', arguments: { command: 'env; git config --list --show-origin; cat .git/config' } },
      ]),
      text('Looked at the environment.'),
    ]);
    const root = await h.mention('print the environment');
    await h.waitForEnd(root);
    const secrets = [h.env.SLACK_BOT_TOKEN, h.env.SLACK_SIGNING_SECRET, h.env.OPENAI_API_KEY, h.env.GITHUB_TOKEN];
    const toModel = JSON.stringify(h.openai.requests.map((r) => r.body));
    const toSlack = JSON.stringify(h.slack.calls.map((c) => c.args)) + JSON.stringify(h.slack.responses);
    const logs = h.logs();
    const sandboxFiles = await readAll(join(h.dir, sandbox === 'e2b' ? 'e2b' : 'sandboxes'));
    if (h.e2b) {
      // No environment given to any E2B sandbox at creation.
      for (const info of h.e2b.sandboxes()) expect(info.envVars).toEqual({});
    }
    expect(toModel).toContain('HOME=');
    expect(sandboxFiles.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(toModel).not.toContain(secret);
      expect(toSlack).not.toContain(secret);
      expect(logs).not.toContain(secret);
      for (const file of sandboxFiles) expect(file.content, file.path).not.toContain(secret);
      // The Basic header git would carry is not left anywhere either.
      const basic = Buffer.from(`x-access-token:${secret}`).toString('base64');
      expect(toModel).not.toContain(basic);
      for (const file of sandboxFiles) expect(file.content, file.path).not.toContain(basic);
    }
  });
});

async function processesMatching(pattern: string): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', pattern], (_error, stdout) => {
      resolve(stdout.split('\n').filter(Boolean));
    });
  });
}

async function readAll(dir: string): Promise<Array<{ path: string; content: string }>> {
  const out: Array<{ path: string; content: string }> = [];
  const walk = async (path: string) => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push({ path: full, content: await readFile(full, 'latin1') });
    }
  };
  await walk(dir);
  return out;
}
