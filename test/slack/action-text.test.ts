import { describe, expect, it } from 'vitest';
import type { ActionReport } from '../../src/agent/events.js';
import { formatDuration } from '../../src/lib/duration.js';
import { actionText, lineDelta, narrationText, stillRunningText } from '../../src/slack/action-text.js';
import { codeBlock, inlineCode, markdownToMrkdwn, sectionBlocks, trimMiddle } from '../../src/slack/blocks.js';

const fenceCount = (text: string): number => text.split('```').length - 1;

describe('actionText', () => {
  it('renders a written file with lines added and removed', () => {
    const created: ActionReport = {
      kind: 'file-written',
      path: 'src/a.ts',
      bytes: 120,
      added: 12,
      removed: 0,
      created: true,
    };
    expect(actionText(created)).toBe(':memo: Created `src/a.ts` (+12 −0)');
    expect(actionText({ ...created, created: false, added: 3, removed: 1 })).toBe(':memo: Wrote `src/a.ts` (+3 −1)');
  });

  it('renders an edited file', () => {
    expect(actionText({ kind: 'file-edited', path: 'README.md', added: 2, removed: 5 })).toBe(
      ':pencil2: Edited `README.md` (+2 −5)',
    );
  });

  it('renders a created or existing directory', () => {
    expect(actionText({ kind: 'directory-created', path: 'src/lib', existed: false })).toBe(
      ':file_folder: Created directory `src/lib/`',
    );
    expect(actionText({ kind: 'directory-created', path: 'src/lib/', existed: true })).toBe(
      ':file_folder: Directory `src/lib/` already exists',
    );
  });

  it('renders reads, listings and searches', () => {
    expect(actionText({ kind: 'file-read', path: 'src/a.ts', lines: '1-80' })).toBe(
      ':eyes: Read `src/a.ts` (lines 1-80)',
    );
    expect(actionText({ kind: 'file-read', path: 'src/a.ts', lines: '' })).toBe(':eyes: Read `src/a.ts`');
    expect(actionText({ kind: 'files-listed', path: '', count: 1 })).toBe(':open_file_folder: Listed `./` (1 entry)');
    expect(actionText({ kind: 'files-listed', path: 'src', count: 1234 })).toBe(
      ':open_file_folder: Listed `src/` (1,234 entries)',
    );
    expect(actionText({ kind: 'code-searched', pattern: 'TODO', matches: 3 })).toBe(
      ':mag: Searched for `TODO` (3 matches)',
    );
  });

  it('renders a successful command with exit code, duration and the last lines of output', () => {
    const text = actionText({
      kind: 'command',
      command: 'npm test',
      exitCode: 0,
      durationMs: 4200,
      timedOut: false,
      output: 'line 1\nline 2\nline 3\nTests: 12 passed\n',
    });
    expect(text.split('\n')[0]).toBe('✓ `npm test` · exit 0 · 4.2 s');
    expect(text).toContain('Tests: 12 passed');
    expect(text).not.toContain('line 1');
    expect(fenceCount(text)).toBe(2);
  });

  it('renders a command without output as one line', () => {
    expect(
      actionText({ kind: 'command', command: 'mkdir x', exitCode: 0, durationMs: 15, timedOut: false, output: '' }),
    ).toBe('✓ `mkdir x` · exit 0 · 15 ms');
  });

  it('renders a failed command with a trimmed head-and-tail code block', () => {
    const output = `${'first line\n'.repeat(500)}the real error is here`;
    const text = actionText({
      kind: 'command',
      command: 'npm run build',
      exitCode: 2,
      durationMs: 65_000,
      timedOut: false,
      output,
    });
    expect(text.startsWith('✗ `npm run build` · exit 2 · 1 min 5 s\n```\n')).toBe(true);
    expect(text).toContain('the real error is here');
    expect(text).toMatch(/characters cut/);
    expect(text.length).toBeLessThan(1700);
    expect(fenceCount(text)).toBe(2);
  });

  it('renders a timed-out command', () => {
    const text = actionText({
      kind: 'command',
      command: 'sleep 100',
      exitCode: 124,
      durationMs: 30_000,
      timedOut: true,
      output: '',
    });
    expect(text).toBe('✗ `sleep 100` · timed out after 30 s');
  });

  it('keeps fences and markup of the output from breaking the message', () => {
    const text = actionText({
      kind: 'command',
      command: 'echo `date` && cat x',
      exitCode: 1,
      durationMs: 10,
      timedOut: false,
      output: '```\n<!channel> & <@U123>\n```',
    });
    expect(text.split('\n')[0]).toBe('✗ `echo ˋdateˋ && cat x` · exit 1 · 10 ms'.replace('&&', '&amp;&amp;'));
    expect(fenceCount(text)).toBe(2);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
  });

  it('renders a commit with a short sha and the subject line', () => {
    expect(
      actionText({ kind: 'commit', sha: '0123456789abcdef', message: 'Fix the date parser\n\nLong body', files: 3 }),
    ).toBe(':package: Committed `0123456` Fix the date parser (3 files)');
  });

  it('renders an opened or updated pull request as a link', () => {
    const pr: ActionReport = {
      kind: 'pull-request',
      url: 'https://github.com/acme/widgets/pull/12',
      number: 12,
      created: true,
      branch: 'ai-dev/fix-dates',
    };
    expect(actionText(pr)).toBe(
      ':twisted_rightwards_arrows: Opened pull request <https://github.com/acme/widgets/pull/12|#12> from `ai-dev/fix-dates`',
    );
    expect(actionText({ ...pr, created: false })).toContain(
      'Updated pull request <https://github.com/acme/widgets/pull/12|#12>',
    );
  });

  it('renders a failed tool call', () => {
    expect(actionText({ kind: 'failed', error: 'edit_file: old_text matched 2 times' })).toBe(
      ':warning: edit_file: old_text matched 2 times',
    );
  });
});

describe('helpers', () => {
  it('formats durations and line deltas', () => {
    expect(formatDuration(320)).toBe('320 ms');
    expect(formatDuration(4210)).toBe('4.2 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_780_000)).toBe('1 h 3 min');
    expect(lineDelta(1200, 3)).toBe('+1,200 −3');
  });

  it('trims the middle, keeps head and tail and marks the cut', () => {
    const text = `HEAD${'x'.repeat(10_000)}TAIL`;
    const trimmed = trimMiddle(text, 500);
    expect(trimmed.length).toBeLessThanOrEqual(500);
    expect(trimmed.startsWith('HEAD')).toBe(true);
    expect(trimmed.endsWith('TAIL')).toBe(true);
    expect(trimmed).toContain('characters cut');
  });

  it('never lets a code block contain a fence of its own', () => {
    const block = codeBlock('a ``` b ```` c', 100);
    expect(fenceCount(block)).toBe(2);
    expect(inlineCode('a `b` c')).toBe('`a ˋbˋ c`');
  });

  it('converts the model markdown to mrkdwn', () => {
    expect(markdownToMrkdwn('## Done\n**bold** see [the PR](https://x.test/1) <b>\n```ts\nx\n```')).toBe(
      '*Done*\n*bold* see <https://x.test/1|the PR> &lt;b&gt;\n```\nx\n```',
    );
  });

  it('narration is cut and keeps fences balanced', () => {
    const text = narrationText(`Look:\n\`\`\`\n${'y'.repeat(5000)}\n\`\`\``, 200);
    expect(text.length).toBeLessThan(260);
    expect(fenceCount(text) % 2).toBe(0);
    expect(stillRunningText('npm test', 5000)).toBe(':hourglass_flowing_sand: Still running after 5.0 s: npm test');
  });

  it('splits long mrkdwn into sections, closing and reopening a fence at a cut', () => {
    const text = `intro\n\`\`\`\n${Array.from({ length: 400 }, (_, i) => `output line ${i}`).join('\n')}\n\`\`\`\nafter`;
    const sections = sectionBlocks(text);
    expect(sections.length).toBeGreaterThan(1);
    for (const section of sections) {
      expect(section.text?.text.length).toBeLessThanOrEqual(3000);
      expect(fenceCount(section.text?.text ?? '') % 2).toBe(0);
    }
    const joined = sections.map((s) => s.text?.text ?? '').join('\n');
    expect(joined).toContain('output line 0');
    expect(joined).toContain('output line 399');
    expect(joined.endsWith('after')).toBe(true);
  });
});
