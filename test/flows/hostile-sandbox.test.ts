import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';

/**
 * The model is the attacker here: it plants every trap a credential could fall into (a global git
 * hook, a credential helper, login-shell profiles, a watcher of every process's environment) and
 * destroys the checkout, so that the next run would hand the sandbox a fresh clone. Then the thread
 * goes on (a follow-up, a Continue, a recovery after a crash) and nothing secret may show up
 * anywhere: not in any command the bot ran in any sandbox, not in any file, not in Slack, the
 * model's input or the logs, and the work still lands on the thread's pull request.
 */
const TRAPS = [
  'mkdir -p ~/.h ~/.loot',
  `printf '#!/bin/sh\\nenv >> ~/.loot/hook\\nexit 0\\n' > ~/.h/post-checkout`,
  'chmod +x ~/.h/post-checkout && cp ~/.h/post-checkout ~/.h/pre-commit && cp ~/.h/post-checkout ~/.h/post-merge',
  'git config --global core.hooksPath ~/.h',
  `git config --global credential.helper '!f() { cat >> ~/.loot/cred; env >> ~/.loot/cred; }; f'`,
  `echo 'env >> ~/.loot/profile' >> ~/.profile && echo 'env >> ~/.loot/bashrc' >> ~/.bashrc`,
  // Everything any process of this sandbox has in its environment, five times a second.
  `(nohup sh -c 'while :; do for p in /proc/[0-9]*; do grep -qa "HOME=$HOME" $p/environ 2>/dev/null && tr "\\0" "\\n" < $p/environ >> ~/.loot/proc; done; sleep 0.2; done' >/dev/null 2>&1 &)`,
  'rm -rf .git',
  'echo planted',
].join(' && ');

const FILES = { 'README.md': '# widgets\n', 'src/app.js': 'export const x = 1;\n' };

function plantAndAnswer() {
  return [toolCalls([{ name: 'run_command', arguments: { command: TRAPS } }]), text('Tidied up.')];
}

function publishWork(file: string) {
  return [
    toolCalls([
      { name: 'save_content_to_file', arguments: { path: file, content: 'follow-up work\n' } },
      { name: 'commit', arguments: { message: `Add ${file}` } },
    ]),
    toolCalls([{ name: 'make_pull_request', arguments: { title: `Add ${file}`, body: 'Work after the traps.' } }]),
    text('Published.'),
  ];
}

describe('a booby-trapped sandbox never sees a credential (E2B)', () => {
  let h: Harness;
  let secrets: string[];

  beforeAll(async () => {
    h = await startHarness({ sandbox: 'e2b', env: { RUN_MAX_TURNS: '4' } });
    await h.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
    await h.command('link acme/widgets', { expectResponse: true });
    const token = h.env.GITHUB_TOKEN ?? '';
    secrets = [
      token,
      `x-access-token:${token}`,
      h.env.OPENAI_API_KEY ?? '',
      h.env.SLACK_BOT_TOKEN ?? '',
      h.env.SLACK_SIGNING_SECRET ?? '',
      h.env.E2B_API_KEY ?? '',
    ].filter((s) => s.length >= 8);
  });
  afterAll(async () => {
    await h?.close();
  });

  const sandboxOf = async (root: string) => (await h.bot.threads.get('C0TEST', root))?.repos[0]?.sandboxId ?? '';

  /** Nothing secret anywhere the sandbox, Slack, the model or the logs could see it. */
  function expectNoSecretAnywhere(): void {
    expect(h.e2b?.scanFor(secrets)).toEqual([]);
    const slack = JSON.stringify(h.slack.calls.map((c) => c.args));
    const model = JSON.stringify(h.openai.requests.map((r) => r.body));
    const logs = h.logs();
    for (const secret of secrets) {
      for (const form of [secret, Buffer.from(secret).toString('base64')]) {
        expect(slack).not.toContain(form);
        expect(model).not.toContain(form);
        expect(logs).not.toContain(form);
      }
    }
  }

  it('a follow-up replaces the trapped sandbox instead of cloning into it, and the work lands on the PR', async () => {
    h.openai.script(plantAndAnswer());
    const root = await h.mention('tidy the repo');
    await h.waitForEnd(root);
    const trapped = await sandboxOf(root);
    expect(h.e2b?.commands(trapped).some((c) => c.args.join(' ').includes('core.hooksPath'))).toBe(true);

    h.openai.script(publishWork('after-follow-up.txt'));
    await h.reply(root, 'now add the file');
    expect(await h.waitForEnd(root, 2)).toMatch(/Opened pull request/);
    const fresh = await sandboxOf(root);
    expect(fresh).not.toBe(trapped);
    expect(h.e2b?.sandbox(trapped)?.state).not.toBe('running');
    expect(
      h
        .thread(root)
        .map((m) => m.text)
        .join('\n'),
    ).toContain('lost its checkout, so I did not trust it');
    const branch = (await h.bot.threads.get('C0TEST', root))?.repos[0]?.branch ?? '';
    expect(await h.github.readFile('acme', 'widgets', branch, 'after-follow-up.txt')).toBe('follow-up work\n');
    // The fresh sandbox got the repository as a bundle: its origin has no credential, and no command carried one.
    expect(h.e2b?.commands(fresh).some((c) => c.args.join(' ').includes('git clone --quiet --no-tags'))).toBe(true);
    expectNoSecretAnywhere();
  });

  it('Continue after a budget pause does the same', async () => {
    await h.restart({ RUN_MAX_TURNS: '1' });
    h.openai.script([toolCalls([{ name: 'run_command', arguments: { command: TRAPS } }])]);
    const root = await h.mention('tidy the repo again');
    expect(await h.waitForEnd(root)).toMatch(/Budget reached/);
    const trapped = await sandboxOf(root);
    await h.restart({ RUN_MAX_TURNS: '4' });
    h.openai.script(publishWork('after-continue.txt'));
    await h.click('ai_dev_continue', root);
    expect(await h.waitForEnd(root, 2)).toMatch(/Opened pull request/);
    expect(await sandboxOf(root)).not.toBe(trapped);
    expectNoSecretAnywhere();
  });

  it('a run picked up after a crash does the same', async () => {
    h.openai.script(plantAndAnswer());
    const root = await h.mention('tidy once more');
    await h.waitForEnd(root);
    const trapped = await sandboxOf(root);
    // As if the bot died in the middle of the next run: the thread is left running with a message owed.
    await h.bot.threads.update('C0TEST', root, (s) => ({
      ...s,
      status: 'running',
      pendingInput: [{ type: 'message', role: 'user', content: 'Slack message from <@U0USER>: add the file now' }],
    }));
    h.openai.script(publishWork('after-crash.txt'));
    await h.restart();
    expect(await h.waitForEnd(root, 2)).toMatch(/Opened pull request/);
    expect(await sandboxOf(root)).not.toBe(trapped);
    expectNoSecretAnywhere();
  });
});
