import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insufficientQuota, text, toolCalls } from '../fakes/openai-server.js';
import { type CliBench, startCliBench } from '../helpers/cli.js';

const FILES = {
  'README.md': '# widgets\n',
  'src/greet.js': "export const greet = (name) => 'Helo, ' + name;\n",
  'test.js': "import { greet } from './src/greet.js';\nif (greet('Ada') !== 'Hello, Ada') process.exit(1);\n",
  'package.json': '{ "type": "module" }\n',
};

describe('ai-dev run: a task from the terminal, against the loopback fakes', () => {
  let bench: CliBench;

  beforeAll(async () => {
    bench = await startCliBench();
    await bench.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
  });
  afterAll(async () => {
    await bench?.close();
  });

  it('runs a task to a pull request, a line per sandbox action, the cost at the end', async () => {
    bench.openai.script([
      toolCalls([{ name: 'edit_file', arguments: { path: 'src/greet.js', old_text: 'Helo', new_text: 'Hello' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'node test.js' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Fix the greeting', body: 'Greets with Hello.' } }]),
      text('Fixed the greeting; node test.js passes.'),
    ]);
    // No Slack variable in the environment: the terminal does not need them.
    const result = await bench.run(['run', 'acme/widgets', 'fix the greeting typo']);
    console.info(result.stdout);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/▶ acme\/widgets @ main → branch ai-dev\/fix-the-greeting-typo-[0-9a-f]{6}/);
    expect(out).toContain('✎ edited src/greet.js (+1 −1)');
    expect(out).toMatch(/✓ \$ node test\.js · exit 0/);
    expect(out).toMatch(/● opened pull request #1: http/);
    expect(out).toMatch(/✓ Opened pull request #1: http\S+\/acme\/widgets\/pull\/1/);
    expect(out).toMatch(/cost: [\d,]+ tokens \([\d,]+ in, [\d,]+ out\) · 4 model turns · sandbox [\d.]+ s/);
    expect(out).toMatch(/ in all · (<\$0\.01|\$\d+\.\d\d) of \$10\.00$/m);
    // The actions come in the order they happened, the outcome after them.
    expect(out.indexOf('edited src/greet.js')).toBeLessThan(out.indexOf('node test.js'));
    expect(out.indexOf('node test.js')).toBeLessThan(out.indexOf('Opened pull request'));
    const pulls = bench.github.pulls('acme', 'widgets');
    expect(pulls).toHaveLength(1);
    // Said as it happened: asked in a terminal, not in Slack.
    expect(pulls[0]?.body).toMatch(/Requested with `ai-dev run` by \S+ \(terminal\)\. Made by ai-dev\./);
    expect(pulls[0]?.body).not.toContain('Slack');
    expect(await bench.github.readFile('acme', 'widgets', pulls[0]?.headRef ?? '', 'src/greet.js')).toContain('Hello');
  });

  it('--follow-up continues the last terminal thread: same branch, same pull request', async () => {
    const branch = bench.github.pulls('acme', 'widgets')[0]?.headRef;
    bench.openai.script([
      (req) => {
        expect(req.conversationId).toBe(bench.openai.requests[0]?.conversationId);
        return toolCalls([{ name: 'save_content_to_file', arguments: { path: 'NOTES.md', content: 'hello\n' } }]);
      },
      text('Added the notes.'),
    ]);
    const result = await bench.run(['run', '--follow-up', 'also add NOTES.md']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/✓ Updated pull request #1/);
    expect(bench.github.pulls('acme', 'widgets')).toHaveLength(1);
    expect(await bench.github.readFile('acme', 'widgets', branch ?? '', 'NOTES.md')).toBe('hello\n');
  });

  it('--no-pr leaves the branch unpublished and prints its diff', async () => {
    const branchesBefore = await bench.github.branches('acme', 'widgets');
    const pullsBefore = bench.github.pulls('acme', 'widgets').length;
    bench.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'CHANGES.md', content: 'A line.\n' } }]),
      toolCalls([
        { name: 'edit_file', arguments: { path: 'README.md', old_text: '# widgets', new_text: '# Widgets' } },
      ]),
      text('Done.'),
    ]);
    const result = await bench.run(['run', 'acme/widgets', 'add a changelog', '--no-pr']);
    console.info(result.stdout);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/branch ai-dev\/add-a-changelog-[0-9a-f]{6}, 1 commit on main, not published \(--no-pr\)/);
    expect(out).toContain('CHANGES.md | 1 +');
    expect(out).toContain('+A line.');
    expect(out).toContain('-# widgets');
    expect(out).toContain('+# Widgets');
    expect(out).toContain('Done; the branch is not published (--no-pr).');
    expect(out).not.toMatch(/pull\/\d/);
    // Nothing reached GitHub.
    expect(await bench.github.branches('acme', 'widgets')).toEqual(branchesBefore);
    expect(bench.github.pulls('acme', 'widgets')).toHaveLength(pullsBefore);
  });

  it('exits non-zero when the run fails, saying why', async () => {
    bench.openai.script([insufficientQuota()]);
    const result = await bench.run(['run', 'acme/widgets', 'rename the package']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ The run failed: .+ \(reference ERR-/);
  });

  it('exits 1 for a repo the bot cannot see, 2 for bad usage or configuration', async () => {
    const missing = await bench.run(['run', 'acme/nope', 'anything']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('I can’t find acme/nope on GitHub');
    const usage = await bench.run(['run', 'acme/widgets']);
    expect(usage.code).toBe(2);
    const config = await bench.run(['run', 'acme/widgets', 'anything'], { OPENAI_API_KEY: undefined });
    expect(config.code).toBe(2);
    expect(config.stderr).toContain('OPENAI_API_KEY is missing');
    expect(config.stderr).not.toContain('SLACK');
  });
});

describe('ai-dev run on E2B: --no-pr keeps the branch in the sandbox, a follow-up publishes it', () => {
  let bench: CliBench;

  beforeAll(async () => {
    bench = await startCliBench({ sandbox: 'e2b' });
    await bench.github.addRepo({ owner: 'acme', name: 'widgets', private: true, files: FILES });
  });
  afterAll(async () => {
    await bench?.close();
  });

  it('prints the diff, publishes nothing, and the follow-up opens the pull request from the same sandbox', async () => {
    bench.openai.script([
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'CHANGES.md', content: 'A line.\n' } }]),
      text('Done.'),
    ]);
    const kept = await bench.run(['run', 'acme/widgets', 'add a changelog', '--no-pr']);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('+A line.');
    expect(bench.github.pulls('acme', 'widgets')).toHaveLength(0);
    const sandboxes = bench.e2b?.sandboxes().filter((s) => s.state === 'running') ?? [];
    expect(sandboxes).toHaveLength(1);

    // The thread's publish record was put back: the follow-up publishes the whole branch.
    bench.openai.script([
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Add a changelog', body: 'As asked.' } }]),
      text('Published.'),
    ]);
    const publish = await bench.run(['run', '--follow-up', 'publish it now']);
    expect(publish.code, publish.stderr).toBe(0);
    expect(publish.stdout).toMatch(/sandbox reconnected/);
    expect(publish.stdout).toMatch(/✓ Opened pull request #1/);
    const pr = bench.github.pulls('acme', 'widgets')[0];
    expect(pr?.headRef).toMatch(/^ai-dev\/add-a-changelog-/);
    expect(await bench.github.readFile('acme', 'widgets', pr?.headRef ?? '', 'CHANGES.md')).toBe('A line.\n');
  });
});
