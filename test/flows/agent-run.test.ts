import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

const REPO_FILES = {
  'README.md': '# widgets\nRun the tests with `node test.js`.\n',
  'AGENTS.md': 'Always run `node test.js` before committing.\n',
  'src/greet.js': "export const greet = (name) => 'Helo, ' + name;\n",
  'test.js': [
    "import assert from 'node:assert';",
    "import { greet } from './src/greet.js';",
    "assert.equal(greet('Ada'), 'Hello, Ada');",
    "console.log('1 test passed');",
    '',
  ].join('\n'),
  'package.json': '{ "type": "module" }\n',
};

describe.each(['local', 'e2b'] as const)(
  'a mention becomes a pull request, and a follow-up updates it (%s sandbox)',
  (sandbox) => {
    let h: Harness;
    let root: string;
    let branch: string;

    beforeAll(async () => {
      h = await startHarness({ sandbox });
      await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: REPO_FILES });
      await h.command('link acme/widgets', { expectResponse: true });
    });
    afterAll(async () => {
      await h?.close();
    });

    it('lists, reads, writes, edits, runs the tests, commits and opens a PR', async () => {
      h.openai.script([
        (req) => {
          // AGENTS.md, read from the base branch on GitHub, comes first as labelled input, never as instructions.
          expect(req.inputText).toContain('Always run `node test.js`');
          expect(req.inputText).toContain('Repository guidance for acme/widgets: the text of AGENTS.md');
          expect(req.inputText.indexOf('Always run')).toBeLessThan(req.inputText.indexOf('fix the greeting typo'));
          expect(String(req.body.instructions)).not.toContain('Always run');
          return toolCalls([
            { name: 'list_files', arguments: { path: '.' } },
            { name: 'read_file', arguments: { path: 'src/greet.js' } },
          ]);
        },
        (req) => {
          const outputs = req.functionCallOutputs.map((o) => o.output).join('\n');
          expect(outputs).toContain('src/');
          expect(outputs).toContain("'Helo, '");
          expect(String(req.body.instructions)).not.toContain('Always run');
          return toolCalls([
            { name: 'edit_file', arguments: { path: 'src/greet.js', old_text: 'Helo', new_text: 'Hello' } },
            { name: 'save_content_to_file', arguments: { path: 'docs/greeting.md', content: 'Say hello.\n' } },
          ]);
        },
        toolCalls([{ name: 'run_command', arguments: { command: 'node test.js' } }]),
        (req) => {
          expect(req.functionCallOutputs[0]?.output).toMatch(/exit code 0/i);
          expect(req.functionCallOutputs[0]?.output).toContain('1 test passed');
          return toolCalls([{ name: 'commit', arguments: { message: 'Fix the greeting typo' } }]);
        },
        toolCalls([
          { name: 'make_pull_request', arguments: { title: 'Fix the greeting typo', body: 'Greets with Hello.' } },
        ]),
        text('Fixed the typo in `greet`; `node test.js` passes.'),
      ]);

      const sent = Date.now();
      root = await h.mention('fix the greeting typo in greet.js');
      const first = await h.slack.waitFor((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root, 5000);
      const firstReplyMs = first.at - sent;
      expect(String(first.args.text)).toContain('Working on *acme/widgets* @ `main`');
      // The egress policy, in one line (the fake GitHub host is the GitHub server here).
      expect(String(first.args.text)).toContain('Network: package registries and 127.0.0.1 only.');
      expect(JSON.stringify(first.args.blocks)).toContain('ai_dev_stop');

      const end = await h.waitForEnd(root);
      expect(end).toMatch(/Opened pull request <[^|]+\|#1>/);
      h.openai.assertDone();

      const state = await h.bot.threads.get('C0TEST', root);
      branch = state?.repos[0]?.branch ?? '';
      expect(branch).toMatch(/^ai-dev\/fix-the-greeting-typo-in-greet-[0-9a-f]{6}$/);
      expect(await h.github.readFile('acme', 'widgets', branch, 'src/greet.js')).toBe(
        "export const greet = (name) => 'Hello, ' + name;\n",
      );
      expect(await h.github.readFile('acme', 'widgets', branch, 'docs/greeting.md')).toBe('Say hello.\n');
      expect(await h.github.readFile('acme', 'widgets', 'main', 'src/greet.js')).toContain('Helo');
      const pulls = h.github.pulls('acme', 'widgets');
      expect(pulls).toHaveLength(1);
      expect(pulls[0]?.headRef).toBe(branch);
      expect(pulls[0]?.baseRef).toBe('main');
      expect(pulls[0]?.body).toContain('Greets with Hello.');
      // Who asked, in plain words GitHub can show (no Slack markup).
      expect(pulls[0]?.body).toContain('Requested in Slack by User U0USER (Slack U0USER)');
      expect(pulls[0]?.body).not.toContain('<@U0USER>');
      expect(pulls[0]?.body).toMatch(/\[thread\]\(https:\/\/example\.slack\.com\/archives\/C0TEST\/p\d+/);
      expect(pulls[0]?.body).toContain('`node test.js` → exit 0');

      const thread = h.thread(root).map((m) => m.text);
      const all = thread.join('\n');
      expect(all).toContain('greet.js');
      expect(all).toMatch(/Edited `src\/greet\.js` \(\+1 −1\)/);
      expect(all).toContain('docs/greeting.md');
      expect(all).toMatch(/`node test\.js` · exit 0/);
      expect(all).toMatch(/Committed `[0-9a-f]{7}`/);
      // The terminal message is the last reply and carries the numbers.
      expect(thread.at(-1)).toBe(end);
      const endCall = h.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.args.thread_ts === root).at(-1);
      const endBlocks = JSON.stringify(endCall?.args.blocks);
      expect(endBlocks).toMatch(/turns/);
      expect(endBlocks).toMatch(/tokens/);
      expect(endBlocks).toContain('src/greet.js');
      console.info(
        `first thread reply after ${firstReplyMs} ms; Slack calls in this run: ${h.slack.calls.filter((c) => c.args.thread_ts === root || c.args.message_ts === root).length}`,
      );
    });

    it('a reply in the thread follows up on the same branch and PR', async () => {
      h.openai.script([
        (req) => {
          // Same conversation as the first run.
          expect(req.conversationId).toBe(h.openai.requests[0]?.conversationId);
          expect(req.inputText).toContain('also greet in README');
          return toolCalls([
            { name: 'save_content_to_file', arguments: { path: 'README.md', content: '# widgets\nSays hello.\n' } },
          ]);
        },
        toolCalls([{ name: 'commit', arguments: { message: 'Mention the greeting in the README' } }]),
        toolCalls([
          { name: 'make_pull_request', arguments: { title: 'Fix the greeting typo', body: 'And the README.' } },
        ]),
        text('Updated the README too.'),
      ]);
      await h.reply(root, 'also greet in README please');
      const end = await h.waitForEnd(root, 2);
      expect(end).toMatch(/Updated pull request <[^|]+\|#1>/);
      expect(h.github.pulls('acme', 'widgets')).toHaveLength(1);
      expect(await h.github.readFile('acme', 'widgets', branch, 'README.md')).toBe('# widgets\nSays hello.\n');
      const log = await h.github.log('acme', 'widgets', branch);
      // The bot is author and committer; the person who asked is in a trailer.
      expect(log.slice(0, 2).map((m) => m.trim())).toEqual([
        'Mention the greeting in the README\n\nRequested-by: User U0USER (Slack U0USER)',
        'Fix the greeting typo\n\nRequested-by: User U0USER (Slack U0USER)',
      ]);
      h.openai.assertDone();
    });
  },
);
