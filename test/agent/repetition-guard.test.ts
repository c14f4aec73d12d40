import { describe, expect, it } from 'vitest';
import { type GuardVerdict, RepetitionGuard } from '../../src/agent/repetition-guard.js';

const npmTest = { name: 'run_command', arguments: '{"command":"npm test"}' };
const testFailed = { output: 'Exit code 1\nFAIL test/a.test.ts > adds\nexpected 3 to be 4', failed: true };

function call(name: string, args: Record<string, unknown>, output = 'ok', failed = false) {
  return { name, arguments: JSON.stringify(args), output, failed };
}

describe('RepetitionGuard', () => {
  it('warns, then stops, when the same call keeps failing', () => {
    const guard = new RepetitionGuard();
    expect(guard.record({ ...npmTest, ...testFailed })).toEqual({ kind: 'ok' });

    const second = guard.record({ ...npmTest, ...testFailed, output: 'Exit code 1\n(different timings)' });
    expect(second.kind).toBe('warn');
    const warning = (second as Extract<GuardVerdict, { kind: 'warn' }>).message;
    expect(warning).toContain('`run_command: npm test`');
    expect(warning).toContain('failed 2 times in a row');
    expect(warning).toContain('try something different');

    expect(guard.record({ ...npmTest, ...testFailed })).toEqual({
      kind: 'stop',
      message:
        'The model repeated the same failing action (`run_command: npm test`) 3 times; I stopped the run so it does not waste the budget.',
    });
  });

  it('follows maxRepeats', () => {
    const guard = new RepetitionGuard({ maxRepeats: 4 });
    const verdicts = [1, 2, 3, 4].map(() => guard.record({ ...npmTest, ...testFailed }).kind);
    expect(verdicts).toEqual(['ok', 'ok', 'warn', 'stop']);
  });

  it('treats argument key order, whitespace and null options as the same call', () => {
    const guard = new RepetitionGuard();
    const error = 'Error: read_file failed: no such file src/nope.ts';
    expect(guard.record(call('read_file', { path: 'src/nope.ts', repo: 'acme/app' }, error, true)).kind).toBe('ok');
    const reordered = {
      name: 'read_file',
      arguments: '{ "repo": "acme/app",\n  "start_line": null, "path": "  src/nope.ts\\n" }',
      output: error,
      failed: true,
    };
    expect(guard.record(reordered).kind).toBe('warn');
    expect(guard.record(call('read_file', { repo: 'acme/app ', path: 'src/nope.ts' }, error, true))).toEqual({
      kind: 'stop',
      message:
        'The model repeated the same failing action (`read_file: src/nope.ts`) 3 times; I stopped the run so it does not waste the budget.',
    });
  });

  it('compares arguments that are not JSON as trimmed text', () => {
    const guard = new RepetitionGuard();
    const bad = {
      name: 'run_command',
      arguments: 'npm test',
      output: 'Error: the arguments are not valid JSON',
      failed: true,
    };
    expect(guard.record(bad).kind).toBe('ok');
    expect(guard.record({ ...bad, arguments: '  npm test\n' }).kind).toBe('warn');
    const stop = guard.record(bad);
    expect(stop.kind).toBe('stop');
    expect((stop as Extract<GuardVerdict, { kind: 'stop' }>).message).toContain('(`run_command: npm test`)');
  });

  it('does not count calls with different arguments as repeats', () => {
    const guard = new RepetitionGuard();
    const commands = [
      'npm test',
      'npm test -- --run',
      'npx vitest run',
      'npx vitest run test/a.test.ts',
      'npm run lint',
    ];
    for (const command of commands) {
      expect(guard.record(call('run_command', { command }, 'Exit code 1', true))).toEqual({ kind: 'ok' });
    }
    // Same arguments under another tool name are another call too.
    expect(guard.record(call('search_code', { command: 'npm test' }, 'Error: no', true))).toEqual({ kind: 'ok' });
  });

  it('starts the failing streak again after a successful call in between', () => {
    const guard = new RepetitionGuard();
    const verdicts = [
      guard.record({ ...npmTest, ...testFailed }),
      guard.record({ ...npmTest, ...testFailed }),
      guard.record(call('edit_file', { path: 'src/a.ts', old_text: 'a - b', new_text: 'a + b' }, 'Edited src/a.ts')),
      guard.record({ ...npmTest, ...testFailed }),
      guard.record({ ...npmTest, ...testFailed }),
    ].map((v) => v.kind);
    expect(verdicts).toEqual(['ok', 'warn', 'ok', 'ok', 'warn']);
  });

  it('a success of the same call also ends its failing streak', () => {
    const guard = new RepetitionGuard();
    guard.record({ ...npmTest, ...testFailed });
    guard.record({ ...npmTest, output: 'Exit code 0\n3 passed', failed: false });
    expect(guard.record({ ...npmTest, ...testFailed }).kind).toBe('ok');
  });

  it('keeps counting when the model switches between failing calls', () => {
    const guard = new RepetitionGuard();
    const other = call('run_command', { command: 'npm run build' }, 'Exit code 2', true);
    const verdicts = [
      guard.record({ ...npmTest, ...testFailed }),
      guard.record(other),
      guard.record({ ...npmTest, ...testFailed }),
      guard.record(other),
      guard.record({ ...npmTest, ...testFailed }),
    ].map((v) => v.kind);
    expect(verdicts).toEqual(['ok', 'ok', 'warn', 'warn', 'stop']);
  });

  it('forgets failures that fell out of the window', () => {
    const guard = new RepetitionGuard({ window: 6 });
    guard.record({ ...npmTest, ...testFailed });
    for (let i = 0; i < 5; i += 1) guard.record(call('run_command', { command: `false ${i}` }, 'Exit code 1', true));
    // The first failure is now 6 calls back and no longer remembered.
    expect(guard.record({ ...npmTest, ...testFailed }).kind).toBe('ok');
  });

  it('stops when the same successful read is repeated with nothing changing', () => {
    const guard = new RepetitionGuard();
    const read = call('read_file', { path: 'src/config.ts' }, '1\texport const config = {};');
    const list = call('list_files', { path: 'src' }, 'config.ts\nindex.ts');
    const verdicts: GuardVerdict[] = [];
    for (let i = 0; i < 5; i += 1) verdicts.push(guard.record(read));
    expect(verdicts.map((v) => v.kind)).toEqual(['ok', 'ok', 'ok', 'warn', 'stop']);
    expect(verdicts[4]).toEqual({
      kind: 'stop',
      message:
        'The model made the same call (`read_file: src/config.ts`) 5 times with the same result; I stopped the run so it does not waste the budget.',
    });

    // With other calls in between, as long as the repeats are within the window.
    const interleaved = new RepetitionGuard();
    const kinds: string[] = [];
    for (let i = 0; i < 5; i += 1) kinds.push(interleaved.record(read).kind, interleaved.record(list).kind);
    expect(kinds).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'warn', 'warn', 'stop', 'stop']);
  });

  it('does not count a repeated call whose result changed', () => {
    const guard = new RepetitionGuard();
    const kinds: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      kinds.push(
        guard.record(call('edit_file', { path: 'src/a.ts', old_text: `v${i}`, new_text: `v${i + 1}` }, 'Edited')).kind,
        guard.record(call('read_file', { path: 'src/a.ts' }, `1\tconst v = 'v${i + 1}';`)).kind,
      );
    }
    expect(kinds.every((k) => k === 'ok')).toBe(true);
  });

  it('never triggers on ordinary varied work', () => {
    const guard = new RepetitionGuard();
    const calls = [
      call('list_files', { path: '.' }, 'package.json\nsrc/\ntest/'),
      call('read_file', { path: 'package.json' }, '{ "name": "app" }'),
      call('list_files', { path: 'src' }, 'index.ts\nmath.ts\nconfig.ts'),
      call('search_code', { pattern: 'export function add' }, 'src/math.ts:3: export function add'),
      call('read_file', { path: 'src/math.ts' }, 'export function add(a, b) { return a - b; }'),
      call('read_file', { path: 'test/math.test.ts' }, "it('adds', () => expect(add(1, 2)).toBe(3));"),
      call('run_command', { command: 'npm test' }, 'Exit code 1\nFAIL adds (12ms)', true),
      call('read_file', { path: 'src/math.ts', start_line: 1, end_line: 10 }, 'export function add(a, b) ...'),
      call('edit_file', { path: 'src/math.ts', old_text: 'a - b', new_text: 'a + b' }, 'Edited src/math.ts'),
      call('run_command', { command: 'npm test' }, 'Exit code 1\nFAIL subtracts (9ms)', true),
      call('search_code', { pattern: 'subtract', path: 'src' }, 'src/math.ts:7: export function subtract'),
      call('read_file', { path: 'src/math.ts', start_line: 5 }, 'export function subtract(a, b) { return a + b; }'),
      call(
        'edit_file',
        { path: 'src/math.ts', old_text: 'return a + b; }\n', new_text: 'return a - b; }\n' },
        'Error: old_text occurs 2 times',
        true,
      ),
      call(
        'edit_file',
        { path: 'src/math.ts', old_text: 'subtract(a, b) { return a + b', new_text: 'subtract(a, b) { return a - b' },
        'Edited src/math.ts',
      ),
      call('run_command', { command: 'npm test' }, 'Exit code 0\n2 passed (10ms)'),
      call(
        'run_command',
        { command: 'npx tsc --noEmit' },
        "Exit code 2\nsrc/math.ts(3,17): error TS7006: Parameter 'a'",
        true,
      ),
      call(
        'edit_file',
        { path: 'src/math.ts', old_text: 'add(a, b)', new_text: 'add(a: number, b: number)' },
        'Edited src/math.ts',
      ),
      call(
        'run_command',
        { command: 'npx tsc --noEmit' },
        "Exit code 2\nsrc/math.ts(7,22): error TS7006: Parameter 'a'",
        true,
      ),
      call(
        'edit_file',
        { path: 'src/math.ts', old_text: 'subtract(a, b)', new_text: 'subtract(a: number, b: number)' },
        'Edited src/math.ts',
      ),
      call('run_command', { command: 'npx tsc --noEmit' }, 'Exit code 0'),
      call('run_command', { command: 'npm test' }, 'Exit code 0\n2 passed (8ms)'),
      call('run_command', { command: 'npm run lint' }, 'Exit code 1\nsrc/math.ts format', true),
      call('run_command', { command: 'npm run format' }, 'Exit code 0\nFixed 1 file'),
      call('run_command', { command: 'npm run lint' }, 'Exit code 0'),
      call('read_file', { path: 'README.md' }, '# app'),
      call(
        'edit_file',
        { path: 'README.md', old_text: '# app', new_text: '# app\n\nMaths that add up.' },
        'Edited README.md',
      ),
      call('run_command', { command: 'git status --short' }, 'Exit code 0\n M README.md\n M src/math.ts'),
      call('run_command', { command: 'npm test' }, 'Exit code 0\n2 passed (9ms)'),
      call('commit', { message: 'Fix add and subtract' }, 'Committed abc1234 on ai-dev/fix: 2 files changed'),
      call('make_pull_request', { title: 'Fix add and subtract', body: 'Both were swapped.' }, 'Opened #12'),
    ];
    expect(calls).toHaveLength(30);
    for (const c of calls) expect(guard.record(c)).toEqual({ kind: 'ok' });
  });

  it('describes calls briefly, on one line, without breaking the code span', () => {
    const guard = new RepetitionGuard({ maxRepeats: 2 });
    const command = `echo \`date\`\n${'x'.repeat(200)}`;
    guard.record(call('run_command', { command }, 'Error: boom', true));
    const stop = guard.record(call('run_command', { command }, 'Error: boom', true));
    const message = (stop as Extract<GuardVerdict, { kind: 'stop' }>).message;
    expect(message).toMatch(/^The model repeated the same failing action \(`run_command: echo 'date' x+…`\) 2 times;/);
    expect(message).not.toContain('\n');

    const noArgs = new RepetitionGuard({ maxRepeats: 2 });
    noArgs.record({ name: 'commit', arguments: '', output: 'Error: nothing', failed: true });
    expect(noArgs.record({ name: 'commit', arguments: '{}', output: 'Error: nothing', failed: true })).toMatchObject({
      kind: 'stop',
      message: expect.stringContaining('(`commit`)'),
    });
  });

  it('rejects options that could never trigger', () => {
    expect(() => new RepetitionGuard({ maxRepeats: 1 })).toThrow(RangeError);
    expect(() => new RepetitionGuard({ maxRepeats: 3, window: 4 })).toThrow(RangeError);
    expect(() => new RepetitionGuard({ maxRepeats: 2, window: 4 })).not.toThrow();
  });
});
