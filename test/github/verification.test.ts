import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChecksSummary, summarizeChecks } from '../../src/github/checks.js';
import { octokitFactory } from '../../src/github/octokit.js';
import {
  buildVerificationSection,
  type CommandRecord,
  commandKinds,
  editVerificationSection,
  exitCodeCaveat,
  fenced,
  PR_BODY_MAX_CHARS,
  removeVerificationSection,
  replaceVerificationSection,
  VERIFICATION_END,
  VERIFICATION_START,
  withVerificationSection,
} from '../../src/github/verification.js';
import { DEFAULT_FAKE_GITHUB_TOKEN, type FakeGitHub, startFakeGitHub } from '../fakes/github-server.js';
import { captureLogger } from '../helpers/logger.js';
import { repoWithPullRequest } from './pr-fixture.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

const cmd = (
  command: string,
  exitCode: number,
  durationMs: number,
  phase: 'before' | 'after',
  output = '',
): CommandRecord => ({ command, exitCode, durationMs, phase, output });

/** A scripted thread: looked around, reproduced the failure, edited, fixed it, checked the rest. */
const scripted: CommandRecord[] = [
  cmd('npm ci', 0, 21_000, 'before', 'added 312 packages'),
  cmd('npm test', 1, 11_900, 'before', 'FAIL src/sum.test.ts\n  expected 3 to be 4\nTests: 1 failed, 41 passed'),
  cmd('cat src/sum.ts', 0, 40, 'before', 'export const sum = …'),
  cmd('npm run lint', 0, 3_100, 'before', 'Checked 40 files.'),
  cmd('npm test', 1, 12_000, 'after', 'FAIL src/sum.test.ts\n  expected 5 to be 4'),
  cmd('npm test', 0, 12_345, 'after', 'Tests: 42 passed'),
  cmd('npx tsc --noEmit', 0, 8_200, 'after', ''),
  cmd('npm run build 2>&1 | tail -5', 0, 65_000, 'after', 'built in 61 s'),
];

const failedChecks: ChecksSummary = summarizeChecks(SHA, [
  {
    source: 'check-run',
    name: 'test (ubuntu)',
    verdict: 'failed',
    conclusion: 'failure',
    url: 'https://github.com/acme/app/actions/runs/1/job/2',
    actionable: true,
    jobId: 2,
  },
  { source: 'check-run', name: 'lint', verdict: 'passed', conclusion: 'success', url: undefined, actionable: false },
]);

describe('commandKinds', () => {
  it('recognises the commands that matter by their usual shapes, through wrappers and chains', () => {
    const table: Array<[string, string[]]> = [
      ['npm test', ['test']],
      ['npm t', ['test']],
      ['npm run test:unit -- --run', ['test']],
      ['pnpm test', ['test']],
      ['yarn vitest run src', ['test']],
      ['npx vitest run', ['test']],
      ['CI=1 timeout 600 npx jest --ci', ['test']],
      ['cd api && python -m pytest -q tests/', ['test']],
      ['uv run pytest', ['test']],
      ['go test ./...', ['test']],
      ['cargo test --workspace', ['test']],
      ['make test', ['test']],
      ['./gradlew test', ['test']],
      ['mvn -q verify', ['test']],
      ['bundle exec rspec spec/models', ['test']],
      ['dotnet test', ['test']],
      ['node --test', ['test']],
      ['npm run build', ['build']],
      ['make', ['build']],
      ['make -j4', ['build']],
      ['go build ./...', ['build']],
      ['cargo build --release', ['build']],
      ['npx vite build', ['build']],
      ['npm run lint', ['lint']],
      ['npx eslint .', ['lint']],
      ['npx biome check .', ['lint']],
      ['ruff check .', ['lint']],
      ['golangci-lint run', ['lint']],
      ['cargo clippy -- -D warnings', ['lint']],
      ['npx prettier --check .', ['lint']],
      ['npm run typecheck', ['typecheck']],
      ['npx tsc --noEmit', ['typecheck']],
      ['tsc -p tsconfig.json --noEmit', ['typecheck']],
      ['mypy src', ['typecheck']],
      ['cargo check', ['typecheck']],
      ['npm run lint && npm test', ['test', 'lint']],
      ['npm ci', []],
      ['npm install', []],
      ['cat package.json', []],
      ['git status', []],
      ['ls test/', []],
      ['grep -rn test src', []],
      ['echo npm test', []],
      ['make install', []],
      ['npx prettier --write .', []],
    ];
    for (const [command, kinds] of table) expect([command, commandKinds(command)]).toEqual([command, kinds]);
  });

  it('says when an exit code is not the checked command’s own', () => {
    expect(exitCodeCaveat('npm test 2>&1 | tail -50')).toBe(
      'the exit code is that of `tail -50`, which the output was piped into',
    );
    expect(exitCodeCaveat('set -o pipefail; npm test | tail -50')).toBeUndefined();
    expect(exitCodeCaveat('pytest || true')).toBe('a failure is hidden by `|| true`');
    expect(exitCodeCaveat('npm test && echo ok')).toBeUndefined();
    expect(exitCodeCaveat('ls | grep x')).toBeUndefined();
  });
});

describe('buildVerificationSection', () => {
  it('adds up a scripted thread: latest result of each command, before and after, output tails, the checks', () => {
    const section = buildVerificationSection({ commands: scripted, checks: failedChecks });
    expect(section).toBe(
      [
        VERIFICATION_START,
        '## Verification',
        '',
        'Run by the bot in its sandbox (the latest result of each command):',
        '',
        '<details><summary>✅ tests: <code>npm test</code> — exit 0 in 12 s; before the change: ❌ exit 1 in 12 s</summary>',
        '',
        '```text',
        'Tests: 42 passed',
        '```',
        '',
        '</details>',
        '',
        '<details><summary>✅ build: <code>npm run build 2&gt;&amp;1 | tail -5</code> — exit 0 in 1 min 5 s ⚠️ the exit code is that of <code>tail -5</code>, which the output was piped into</summary>',
        '',
        '```text',
        'built in 61 s',
        '```',
        '',
        '</details>',
        '',
        '<details><summary>✅ lint: <code>npm run lint</code> — exit 0 in 3.1 s (measured before the change only)</summary>',
        '',
        '```text',
        'Checked 40 files.',
        '```',
        '',
        '</details>',
        '',
        '<details><summary>✅ type check: <code>npx tsc --noEmit</code> — exit 0 in 8.2 s</summary>',
        '',
        '```text',
        '(no output)',
        '```',
        '',
        '</details>',
        '',
        '❌ **CI checks** on `0123456`: 1 of 2 failed: [`test (ubuntu)`](https://github.com/acme/app/actions/runs/1/job/2) (failure).',
        VERIFICATION_END,
      ].join('\n'),
    );
  });

  it('says what is known of the checks: not yet, none, running, all passed', () => {
    const line = (checks?: ChecksSummary) => buildVerificationSection({ commands: [], checks }).split('\n').at(-2);
    expect(line()).toBe('⏳ **CI checks:** not reported yet; this section is updated when they finish.');
    expect(line(summarizeChecks(SHA, []))).toBe('**CI checks** on `0123456`: none reported.');
    const run = { source: 'check-run' as const, url: undefined, actionable: false };
    expect(
      line(
        summarizeChecks(SHA, [
          { ...run, name: 'a', verdict: 'pending', conclusion: null },
          { ...run, name: 'b', verdict: 'passed', conclusion: 'success' },
        ]),
      ),
    ).toBe('⏳ **CI checks** on `0123456`: 1 of 2 finished.');
    expect(line(summarizeChecks(SHA, [{ ...run, name: 'b', verdict: 'passed', conclusion: 'success' }]))).toBe(
      '✅ **CI checks** on `0123456`: all 1 passed.',
    );
    expect(buildVerificationSection({ commands: [cmd('ls', 0, 5, 'after')] })).toContain(
      'No tests, build, lint or type-check commands were run in the bot’s sandbox.',
    );
  });

  it('fences output so it cannot break out, and keeps markers inside it from confusing a later replace', () => {
    const hostile = [
      '```',
      '</details>',
      '<script>alert(1)</script>',
      VERIFICATION_END,
      '````` five',
      '# heading',
    ].join('\n');
    const section = buildVerificationSection({
      commands: [cmd('npm test -- --grep "`weird`" <x>', 1, 100, 'after', hostile)],
    });
    expect(section).toContain('<code>npm test -- --grep &quot;`weird`&quot; &lt;x&gt;</code>');
    // The fence is longer than the longest backtick run inside.
    expect(section).toContain('``````text\n```\n</details>');
    expect(section.split(VERIFICATION_END)).toHaveLength(2);
    const body = replaceVerificationSection('Intro', section);
    const replaced = replaceVerificationSection(body, buildVerificationSection({ commands: [] }));
    expect(replaced).toBe(`Intro\n\n${buildVerificationSection({ commands: [] })}`);
    expect(fenced('a ``` b')).toBe('````text\na ``` b\n````');
  });

  it('stays within its length: tails shrink, then go, then commands are counted instead of shown', () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      cmd(`npm run test:part${i}`, i % 7 === 0 ? 1 : 0, 1000 + i, 'after', `line\n`.repeat(2000)),
    );
    const roomy = buildVerificationSection({ commands: many }, { maxChars: 200_000 });
    expect(roomy).toContain('<details>');
    const small = buildVerificationSection({ commands: many }, { maxChars: 3000 });
    expect(small.length).toBeLessThanOrEqual(3000);
    expect(small).not.toContain('<details>');
    expect(small).toMatch(/- … and \d+ more commands \(left out for length\)/);
    expect(small.endsWith(VERIFICATION_END)).toBe(true);
    const medium = buildVerificationSection({ commands: many.slice(0, 5) }, { maxChars: 6000 });
    expect(medium.length).toBeLessThanOrEqual(6000);
    expect(medium).toContain('<details>');
  });
});

describe('replacing the section in a PR body', () => {
  const section = buildVerificationSection({ commands: scripted });

  it('appends it once, then replaces only it, leaving the rest of the body alone', () => {
    const body = 'Fixes the sum.\n\nCloses #12.\n';
    const first = replaceVerificationSection(body, section);
    expect(first).toBe(`Fixes the sum.\n\nCloses #12.\n\n${section}`);
    const edited = `${first}\n\n_Edited by a person after the section._`;
    const updated = replaceVerificationSection(
      edited,
      buildVerificationSection({ commands: scripted, checks: failedChecks }),
    );
    expect(updated.startsWith('Fixes the sum.\n\nCloses #12.\n\n<!-- ai-dev:verification:start -->')).toBe(true);
    expect(updated.endsWith(`${VERIFICATION_END}\n\n_Edited by a person after the section._`)).toBe(true);
    expect(updated.match(/## Verification/g)).toHaveLength(1);
    expect(removeVerificationSection(updated)).toBe(
      'Fixes the sum.\n\nCloses #12.\n\n_Edited by a person after the section._',
    );
    expect(replaceVerificationSection(null, section)).toBe(section);
    // A start marker whose end was deleted: everything from it is the section.
    expect(replaceVerificationSection(`Text\n${VERIFICATION_START}\nbroken`, section)).toBe(`Text\n${section}`);
  });

  it('keeps the whole body within GitHub’s 65 536 characters, never cutting the rest', () => {
    const rest = `${'Long description. '.repeat(3500)}`.trim();
    const many = Array.from({ length: 40 }, (_, i) => cmd(`npm run test:${i}`, 0, 10, 'after', 'x\n'.repeat(600)));
    const body = withVerificationSection(rest, { commands: many });
    expect(body.length).toBeLessThanOrEqual(PR_BODY_MAX_CHARS);
    expect(body.startsWith(rest)).toBe(true);
    expect(body).toContain(VERIFICATION_END);
  });
});

describe('editVerificationSection', () => {
  const log = captureLogger();
  let fake: FakeGitHub;

  beforeAll(async () => {
    fake = await startFakeGitHub();
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('edits the section of the PR body in place when the checks arrive, and writes nothing when unchanged', async () => {
    const gh = octokitFactory({ baseUrl: fake.apiUrl, logger: log.logger, throttle: false })(DEFAULT_FAKE_GITHUB_TOKEN);
    const pr = await repoWithPullRequest(fake, gh, { name: 'verify', files: { 'a.ts': 'x\n' } });
    const repo = { owner: pr.owner, name: pr.name };
    await gh.rest.pulls.update({
      owner: pr.owner,
      repo: pr.name,
      pull_number: pr.number,
      body: withVerificationSection('Body', { commands: scripted }),
    });
    expect(await editVerificationSection(gh, repo, pr.number, { commands: scripted, checks: failedChecks })).toEqual({
      changed: true,
    });
    const body = fake.pulls(pr.owner, pr.name).find((p) => p.number === pr.number)?.body ?? '';
    expect(body.startsWith('Body\n\n<!-- ai-dev:verification:start -->')).toBe(true);
    expect(body).toContain('❌ **CI checks** on `0123456`: 1 of 2 failed');
    const patches = () => fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/pulls/${pr.number}`));
    const before = patches().length;
    expect(await editVerificationSection(gh, repo, pr.number, { commands: scripted, checks: failedChecks })).toEqual({
      changed: false,
    });
    expect(patches()).toHaveLength(before);
  });
});
