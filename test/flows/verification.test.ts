import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFICATION_END, VERIFICATION_START } from '../../src/github/verification.js';
import { text, toolCalls } from '../fakes/openai-server.js';
import { type Harness, startHarness } from '../helpers/harness.js';
import { waitFor } from '../helpers/scripted-runs.js';

const FAST_POLLING = { ciPolling: { minDelayMs: 10, maxDelayMs: 40, noChecksAfterMs: 60_000, maxWaitMs: 120_000 } };

/** Node's own test runner: fails until `fixed.txt` exists. */
const CHECK_TEST = `const { test } = require('node:test');
const assert = require('node:assert');
test('fixed', () => assert.ok(require('node:fs').existsSync('fixed.txt'), 'fixed.txt is missing'));
`;

describe('every PR carries its proof', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ overrides: FAST_POLLING });
    await h.github.addRepo({
      owner: 'acme',
      name: 'widgets',
      files: { 'README.md': '# widgets\n', 'check.test.js': CHECK_TEST },
    });
    await h.command('link acme/widgets', { expectResponse: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the Verification section shows the tests before and after, then the checks; Slack links to it', async () => {
    h.openai.script([
      toolCalls([{ name: 'run_command', arguments: { command: 'node --test' } }]),
      toolCalls([{ name: 'save_content_to_file', arguments: { path: 'fixed.txt', content: 'yes\n' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'node --test' } }]),
      toolCalls([{ name: 'run_command', arguments: { command: 'ls' } }]),
      toolCalls([{ name: 'make_pull_request', arguments: { title: 'Fix it', body: 'Adds fixed.txt.' } }]),
      text('Fixed.'),
    ]);
    const root = await h.mention('make the test pass');
    const end = await h.waitForEnd(root);
    const pull = h.github.pulls('acme', 'widgets').at(-1);
    expect(end).toMatch(new RegExp(`<[^|>]+/pull/${pull?.number}#verification\\|Verification>`));

    const body = pull?.body ?? '';
    const section = body.slice(body.indexOf(VERIFICATION_START), body.indexOf(VERIFICATION_END));
    expect(section).toContain('## Verification');
    // The latest result, with the one before the change beside it.
    expect(section).toMatch(
      /✅ tests: <code>node --test<\/code> — exit 0 in [\d.]+ (ms|s); before the change: ❌ exit 1/,
    );
    expect(section).toContain('pass 1');
    // `ls` checks nothing: it is left out.
    expect(section).not.toContain('<code>ls</code>');
    expect(section).toContain('CI checks:** not reported yet');

    await h.github.addCheckRun('acme', 'widgets', { sha: pull?.headSha ?? '', name: 'build', conclusion: 'success' });
    const edited = await waitFor('the checks in the section', () => {
      const now = h.github.pulls('acme', 'widgets').at(-1)?.body ?? '';
      return now.includes('✅ **CI checks**') && now;
    });
    expect(edited).toContain(`✅ **CI checks** on \`${pull?.headSha.slice(0, 7)}\`: all 1 passed.`);
    // The rest of the body is left as it was.
    expect(edited.slice(0, edited.indexOf(VERIFICATION_START))).toBe(body.slice(0, body.indexOf(VERIFICATION_START)));
    h.openai.assertDone();
  }, 120_000);
});
