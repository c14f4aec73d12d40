import type { Octokit } from '@octokit/rest';
import { formatDuration } from '../lib/duration.js';
import { trimOutput } from '../lib/trim-output.js';
import type { ChecksSummary } from './checks.js';
import { githubRequest } from './github-errors.js';
import { requestOptions } from './octokit.js';
import { fullName, type RepoRef } from './repo-ref.js';

/**
 * The "Verification" section of the bot's PR body: proof of what was run. It adds up the thread's runs
 * (the latest result of each command that matters: tests, build, lint, type checks), with exit codes,
 * durations and output tails in collapsible blocks, the state before and after the change where both
 * were measured, and the CI checks once known. It sits between two HTML comments so the bot can replace
 * it later without touching the rest of the body.
 */

export const VERIFICATION_START = '<!-- ai-dev:verification:start -->';
export const VERIFICATION_END = '<!-- ai-dev:verification:end -->';
/** The heading's anchor on the PR page: `${pr.url}#verification`. */
export const VERIFICATION_ANCHOR = 'verification';
/** GitHub refuses a PR body longer than this. */
export const PR_BODY_MAX_CHARS = 65_536;

/** One command the thread ran in its sandbox (the `run_command` tool's report). */
export interface CommandRecord {
  command: string;
  exitCode: number;
  durationMs: number;
  timedOut?: boolean;
  /** The end of its output. */
  output: string;
  /** `before`: it ran before the thread's first file edit, so it measured the code as it was. */
  phase: 'before' | 'after';
}

export type CommandKind = 'test' | 'build' | 'lint' | 'typecheck';

export interface VerificationInput {
  /** Every command of the thread's runs for this repo, oldest first. */
  commands: CommandRecord[];
  /** The checks of the published head; absent while not known yet. */
  checks?: ChecksSummary;
}

export interface SectionOptions {
  /** Longest section. Default 20 000 characters. */
  maxChars?: number;
  /** Characters of each output tail. Default 1 500. */
  tailChars?: number;
  /** Which commands count, and as what; default `commandKinds`. */
  kindsOf?: (command: string) => CommandKind[];
}

// ---- which commands matter ---------------------------------------------------------------------

const RUNNER = String.raw`(?:(?:npx|bunx|pnpx)\s+(?:--?\S+\s+)*|(?:pnpm|yarn)\s+(?:exec\s+|dlx\s+)?|(?:uv|poetry|pipenv|hatch|pdm|rye)\s+run\s+|bundle\s+exec\s+|python3?\s+-m\s+|\./node_modules/\.bin/|vendor/bin/)?`;
const SCRIPT = String.raw`(?:npm|pnpm|yarn|bun)\s+(?:run(?:-script)?\s+)?`;

const PATTERNS: Record<CommandKind, RegExp[]> = {
  test: [
    new RegExp(String.raw`^${SCRIPT}(?:test|tests|unit|e2e|spec)(?::\S*)?(?:\s|$)`),
    /^npm\s+t(?:\s|$)/,
    new RegExp(
      String.raw`^${RUNNER}(?:vitest|jest|mocha|ava|tap|karma|playwright\s+test|cypress\s+run|pytest|py\.test|unittest|nose2|tox|nox|rspec|phpunit|pest)(?:\s|$)`,
    ),
    /^(?:go|cargo|dotnet|swift|deno|bun|mix|zig\s+build)\s+test(?:\s|$)/,
    /^cargo\s+nextest(?:\s|$)/,
    /^node\s+(?:--\S+\s+)*--test(?:\s|$)/,
    /^(?:g?make|just|task)\s+(?:-\S+\s+)*(?:test|tests|check|unit|spec)(?:[\s:]|$)/,
    /^(?:mvn|\.\/mvnw|mvnw)\s+(?:\S+\s+)*(?:test|verify)(?:\s|$)/,
    /^(?:gradle|\.\/gradlew|gradlew)\s+(?:\S+\s+)*(?:test|check)(?:\s|$)/,
    /^(?:rake|bundle\s+exec\s+rake)\s+(?:test|spec)(?:\s|$)/,
    /^ctest(?:\s|$)/,
  ],
  build: [
    new RegExp(String.raw`^${SCRIPT}(?:build|compile|dist)(?::\S*)?(?:\s|$)`),
    /^(?:go|cargo|dotnet|swift|zig|bazel)\s+build(?:\s|$)/,
    /^(?:g?make)(?:\s+-\S+)*(?:\s+(?:all|build|dist|release))?\s*$/,
    /^(?:mvn|\.\/mvnw|mvnw)\s+(?:\S+\s+)*(?:package|compile|install)(?:\s|$)/,
    /^(?:gradle|\.\/gradlew|gradlew)\s+(?:\S+\s+)*(?:build|assemble)(?:\s|$)/,
    new RegExp(
      String.raw`^${RUNNER}(?:vite\s+build|next\s+build|nuxt\s+build|astro\s+build|webpack|rollup|tsup|esbuild)(?:\s|$)`,
    ),
    /^python3?\s+-m\s+build(?:\s|$)/,
    /^cmake\s+--build(?:\s|$)/,
  ],
  lint: [
    new RegExp(String.raw`^${SCRIPT}(?:lint|format:check|fmt:check|check:format|style)(?::\S*)?(?:\s|$)`),
    new RegExp(
      String.raw`^${RUNNER}(?:eslint|biome\s+(?:check|lint|ci)|prettier\s+(?:\S+\s+)*--check|ruff(?:\s+check)?|flake8|pylint|pycodestyle|black\s+(?:\S+\s+)*--check|isort\s+(?:\S+\s+)*--check(?:-only)?|golangci-lint|staticcheck|rubocop|shellcheck|hadolint|stylelint|markdownlint|standard|xo)(?:\s|$)`,
    ),
    /^go\s+vet(?:\s|$)/,
    /^gofmt\s+-l(?:\s|$)/,
    /^cargo\s+(?:clippy|fmt\s+(?:\S+\s+)*--check)(?:\s|$)/,
    /^(?:g?make)\s+(?:lint|fmt-check|format-check|vet)(?:\s|$)/,
  ],
  typecheck: [
    new RegExp(String.raw`^${SCRIPT}(?:typecheck|type-check|types|check-types|tsc|typecheck:\S*)(?:\s|$)`),
    new RegExp(String.raw`^${RUNNER}(?:tsc|vue-tsc)\s+(?:\S+\s+)*--noEmit(?:\s|$)`),
    new RegExp(String.raw`^${RUNNER}(?:mypy|pyright|basedpyright|flow\s+check)(?:\s|$)`),
    /^cargo\s+check(?:\s|$)/,
  ],
};

const KIND_ORDER: CommandKind[] = ['test', 'build', 'lint', 'typecheck'];
const KIND_WORDS: Record<CommandKind, string> = {
  test: 'tests',
  build: 'build',
  lint: 'lint',
  typecheck: 'type check',
};

interface Segment {
  text: string;
  /** The operator after it: `|` (piped on), `||`, `&&`, `;`, or none at the end. */
  next: string | undefined;
}

/** A command line's simple commands with the operators between them (quotes are not parsed; good enough here). */
function segments(command: string): Segment[] {
  const parts = command.split(/(\|\||&&|;|\||\n)/);
  const out: Segment[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    out.push({ text: parts[i]?.trim() ?? '', next: parts[i + 1] });
  }
  return out.filter((segment) => segment.text !== '');
}

/** Drops what only wraps a command: `FOO=1`, `env`, `time`, `timeout 300`, `sudo`, redirections, a subshell's `(`. */
function bare(text: string): string {
  let rest = text.replace(/^[({]\s*/, '').replace(/\s*\d?>&?\s*\S+/g, '');
  for (;;) {
    const next = rest.replace(
      /^(?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|\S*)\s+|env\s+|time\s+|command\s+|exec\s+|sudo\s+(?:-\S+\s+)*|nice\s+(?:-n\s*\d+\s+)?|timeout\s+(?:-\S+\s+)*\d+[smhd]?\s+|xvfb-run\s+(?:-\S+\s+)*)/,
      '',
    );
    if (next === rest) return rest.trim();
    rest = next;
  }
}

/** What a command line runs that matters, in the order of `KIND_ORDER` (empty: nothing that matters). */
export function commandKinds(command: string): CommandKind[] {
  const found = new Set<CommandKind>();
  for (const segment of segments(command)) {
    const text = bare(segment.text);
    for (const kind of KIND_ORDER) {
      if (PATTERNS[kind].some((pattern) => pattern.test(text))) found.add(kind);
    }
  }
  return KIND_ORDER.filter((kind) => found.has(kind));
}

/**
 * When the exit code is not the checked command's own: its output piped on (`npm test | tail`, without
 * `pipefail`: the exit code is the last command's) or its failure swallowed (`npm test || true`).
 */
export function exitCodeCaveat(
  command: string,
  kindsOf: (c: string) => CommandKind[] = commandKinds,
): string | undefined {
  if (/\bpipefail\b/.test(command)) return undefined;
  const parts = segments(command);
  for (const [i, segment] of parts.entries()) {
    if (kindsOf(segment.text).length === 0) continue;
    if (segment.next === '|') {
      const last = parts.slice(i + 1).find((p) => p.next !== '|') ?? parts.at(-1);
      return `the exit code is that of \`${shorten(last?.text ?? '', 40)}\`, which the output was piped into`;
    }
    if (segment.next === '||') return `a failure is hidden by \`|| ${shorten(parts[i + 1]?.text ?? '', 40)}\``;
  }
  return undefined;
}

// ---- the section ---------------------------------------------------------------------------------

interface Entry {
  command: string;
  kinds: CommandKind[];
  latest: CommandRecord;
  before: CommandRecord | undefined;
  first: number;
}

/** The latest result of each command that matters, with its result before the change where measured. */
function entries(commands: CommandRecord[], kindsOf: (command: string) => CommandKind[]): Entry[] {
  const byCommand = new Map<string, Entry>();
  commands.forEach((record, index) => {
    const key = record.command.trim().replace(/\s+/g, ' ');
    let entry = byCommand.get(key);
    if (!entry) {
      const kinds = kindsOf(record.command);
      if (kinds.length === 0) return;
      entry = { command: key, kinds, latest: record, before: undefined, first: index };
      byCommand.set(key, entry);
    }
    entry.latest = record;
    if (record.phase === 'before') entry.before = record;
  });
  const rank = (entry: Entry) => KIND_ORDER.indexOf(entry.kinds[0] ?? 'test');
  return [...byCommand.values()].sort((a, b) => rank(a) - rank(b) || a.first - b.first);
}

const passed = (record: CommandRecord) => record.exitCode === 0 && !record.timedOut;

function icon(record: CommandRecord): string {
  if (record.timedOut) return '⏱️';
  return passed(record) ? '✅' : '❌';
}

function result(record: CommandRecord): string {
  const time = formatDuration(record.durationMs);
  return record.timedOut ? `timed out after ${time}` : `exit ${record.exitCode} in ${time}`;
}

/** Text from a command or a check, safe in HTML (summary lines) and unable to fake the section's markers. */
function html(text: string): string {
  return neutral(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function neutral(text: string): string {
  return text.replace(/ai-dev:verification:/g, 'ai-dev:verification\u200b:');
}

/** A fenced block no content can close: the fence is longer than any backtick run inside. */
export function fenced(text: string, info = 'text'): string {
  const body = neutral(text).replace(/\r\n?/g, '\n').replace(/\n+$/, '');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${body}\n${fence}`;
}

/** Inline code that no backtick inside can end. */
function inlineCode(text: string): string {
  const flat = neutral(text).replace(/\s+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const ticks = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${flat}${pad}${ticks}`;
}

function safeUrl(url: string | undefined): string | undefined {
  if (!url || !/^https?:\/\/[^\s]+$/i.test(url)) return undefined;
  return url.replace(/[()<>[\]]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function commandBlock(entry: Entry, tailChars: number, kindsOf: (command: string) => CommandKind[]): string {
  const { latest, before } = entry;
  const kinds = entry.kinds.map((kind) => KIND_WORDS[kind]).join(', ');
  let summary = `${icon(latest)} ${html(kinds)}: <code>${html(shorten(entry.command, 150))}</code> — ${result(latest)}`;
  if (before && before !== latest) summary += `; before the change: ${icon(before)} ${result(before)}`;
  else if (latest.phase === 'before') summary += ' (measured before the change only)';
  const caveat = exitCodeCaveat(entry.command, kindsOf);
  // Markdown does not render inside <summary>: the caveat's code spans become HTML.
  if (caveat) summary += ` ⚠️ ${html(caveat).replace(/`([^`]+)`/g, '<code>$1</code>')}`;
  if (tailChars <= 0) return `- ${summary}`;
  const tail =
    latest.output.trim() === '' ? '(no output)' : trimOutput(latest.output.trimEnd(), tailChars, { headShare: 0 });
  return `<details><summary>${summary}</summary>\n\n${fenced(tail)}\n\n</details>`;
}

function checksLine(checks: ChecksSummary | undefined): string {
  if (!checks) return '⏳ **CI checks:** not reported yet; this section is updated when they finish.';
  const at = `on \`${checks.sha.slice(0, 7)}\``;
  const total = checks.checks.length;
  switch (checks.state) {
    case 'none':
      return `**CI checks** ${at}: none reported.`;
    case 'pending':
      return `⏳ **CI checks** ${at}: ${total - checks.pending.length} of ${total} finished${checks.failed.length ? `, ${checks.failed.length} failed so far` : ''}.`;
    case 'success':
      return `✅ **CI checks** ${at}: all ${total} passed.`;
    case 'failure': {
      const failed = checks.failed.map((check) => {
        const url = safeUrl(check.url);
        const name = inlineCode(shorten(check.name, 80));
        return `${url ? `[${name}](${url})` : name} (${html(check.conclusion ?? 'failed')})`;
      });
      return `❌ **CI checks** ${at}: ${checks.failed.length} of ${total} failed: ${failed.join(', ')}.`;
    }
  }
}

/**
 * The section (markers included) for the thread's commands and checks, at most `maxChars` long: output
 * tails shrink first, then they go, then the last commands are left out with a count.
 */
export function buildVerificationSection(input: VerificationInput, options: SectionOptions = {}): string {
  const maxChars = options.maxChars ?? 20_000;
  const kindsOf = options.kindsOf ?? commandKinds;
  const list = entries(input.commands, kindsOf);
  const head = `${VERIFICATION_START}\n## Verification\n`;
  const foot = `\n${checksLine(input.checks)}\n${VERIFICATION_END}`;
  const intro = list.length
    ? '\nRun by the bot in its sandbox (the latest result of each command):\n\n'
    : '\nNo tests, build, lint or type-check commands were run in the bot’s sandbox.\n';
  const compose = (tailChars: number, count: number) => {
    const blocks = list.slice(0, count).map((entry) => commandBlock(entry, tailChars, kindsOf));
    const left = list.length - count;
    if (left > 0) blocks.push(`- … and ${left} more command${left === 1 ? '' : 's'} (left out for length)`);
    return `${head}${intro}${blocks.join(tailChars > 0 ? '\n\n' : '\n')}${list.length ? '\n' : ''}${foot}`;
  };
  const tailSteps = [options.tailChars ?? 1500, 800, 400, 0].filter((n, i, all) => i === 0 || n < (all[0] ?? 0));
  for (const tailChars of tailSteps) {
    const text = compose(tailChars, list.length);
    if (text.length <= maxChars) return text;
  }
  for (let count = list.length - 1; count >= 0; count--) {
    const text = compose(0, count);
    if (text.length <= maxChars) return text;
  }
  return `${head}\n(Too long to show here.)\n${VERIFICATION_END}`;
}

/** Where the section is in `body`: [start, end) including its markers, or undefined. */
function locate(body: string): [number, number] | undefined {
  const start = body.indexOf(VERIFICATION_START);
  if (start < 0) return undefined;
  const end = body.indexOf(VERIFICATION_END, start);
  return [start, end < 0 ? body.length : end + VERIFICATION_END.length];
}

/** `body` with its Verification section replaced by `section`, or `section` appended; the rest is left alone. */
export function replaceVerificationSection(body: string | null | undefined, section: string): string {
  const text = body ?? '';
  const at = locate(text);
  if (at) return `${text.slice(0, at[0])}${section}${text.slice(at[1])}`;
  return text.trim() === '' ? section : `${text.replace(/\s+$/, '')}\n\n${section}`;
}

/** `body` without its Verification section. */
export function removeVerificationSection(body: string | null | undefined): string {
  const text = body ?? '';
  const at = locate(text);
  return at ? `${text.slice(0, at[0]).replace(/\s+$/, '')}${text.slice(at[1])}`.trim() : text;
}

/**
 * `body` with an up-to-date Verification section that keeps the whole body within GitHub's limit (the
 * rest of the body is never cut; the section gets what room is left, within `options.maxChars`).
 */
export function withVerificationSection(
  body: string | null | undefined,
  input: VerificationInput,
  options: SectionOptions = {},
): string {
  const rest = removeVerificationSection(body);
  const room = PR_BODY_MAX_CHARS - rest.length - 2;
  const maxChars = Math.min(options.maxChars ?? 20_000, Math.max(room, 0));
  return replaceVerificationSection(body, buildVerificationSection(input, { ...options, maxChars }));
}

/**
 * Edits the section of a PR's body in place (when its checks finish): reads the body, replaces the
 * section, and writes it back only if it changed. A person's edit between the read and the write is
 * the one thing this can lose; the window is one request.
 */
export async function editVerificationSection(
  octokit: Octokit,
  repo: RepoRef,
  pr: number,
  input: VerificationInput,
  options: SectionOptions & { signal?: AbortSignal } = {},
): Promise<{ changed: boolean }> {
  const { signal } = options;
  const target = { owner: repo.owner, repo: repo.name, pull_number: pr, ...requestOptions(signal) };
  const body = await githubRequest(
    `read pull request #${pr} in ${fullName(repo)}`,
    async () => (await octokit.rest.pulls.get(target)).data.body,
    { signal },
  );
  const next = withVerificationSection(body, input, options);
  if (next === (body ?? '')) return { changed: false };
  await githubRequest(`update pull request #${pr}`, () => octokit.rest.pulls.update({ ...target, body: next }), {
    signal,
  });
  return { changed: true };
}
