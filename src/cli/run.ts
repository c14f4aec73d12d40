import { userInfo } from 'node:os';
import { type CliConfig, parseCliConfig } from '../config/config.js';
import { branchName } from '../github/branch-name.js';
import { RepoChecker } from '../github/repo-checker.js';
import { parseRepoRef, type RepoRef } from '../github/repo-ref.js';
import { AppError, errorMessage } from '../lib/errors.js';
import { AccessPolicy } from '../runs/access-policy.js';
import { SandboxReaper } from '../runs/sandbox-reaper.js';
import type { ThreadRepo } from '../store/thread-store.js';
import { buildLogging, buildRunStack, type RunStack } from '../wiring.js';
import type { CliIO } from './io.js';
import { CLI_CHANNEL, LastThreadStore, terminalTs } from './last-thread.js';
import { costLine, exitCodeOf, TerminalReporter } from './terminal-reporter.js';
import { UnpublishedBranches } from './unpublished.js';

export interface RunArgs {
  /** `owner/repo` (or a URL on GITHUB_SERVER_URL); optional with `--follow-up`. */
  repo: string | undefined;
  task: string;
  noPr: boolean;
  followUp: boolean;
  /** The base branch instead of the repo's default branch (new threads only). */
  base: string | undefined;
  verbose: boolean;
}

export const USAGE_ERROR = 2;

/**
 * `ai-dev run owner/repo "task"`: one task through the same run engine as the bot (agent loop,
 * tools, sandbox provider, publishing, limits), shown in the terminal. The thread is kept in the
 * bot's store under the CLI channel, so `--follow-up` continues it.
 */
export async function runTask(args: RunArgs, io: CliIO): Promise<number> {
  const parsed = parseCliConfig(io.env);
  if (!parsed.ok) {
    io.stderr.write(
      `ai-dev run: fix these environment variables (see README.md and .env.example):\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    return USAGE_ERROR;
  }
  const config = parsed.config;
  if (args.task.trim() === '') {
    io.stderr.write(
      'ai-dev run: the task is empty; say what to do, e.g. ai-dev run acme/widgets "fix the typo in README"\n',
    );
    return USAGE_ERROR;
  }
  const logging = buildLogging(config, {
    ...io.overrides,
    logDestination: io.overrides?.logDestination ?? io.stderr,
    logLevel: args.verbose ? config.logLevel : 'warn',
  });
  const { redact } = logging;
  const reporter = new TerminalReporter({ out: io.stdout, redact, noPr: args.noPr });
  const unpublished = args.noPr ? new UnpublishedBranches() : undefined;
  const requester = terminalUser();
  const engine = await buildRunStack(
    config,
    logging,
    {
      reporterFor: () => reporter,
      threadInfo: async () => ({ requesterName: requester, surface: 'terminal' }),
      ...(unpublished ? { wrapPublisher: () => unpublished } : {}),
    },
    io.overrides,
  );
  const say = (line: string) => io.stdout.write(`${redact(line)}\n`);
  const complain = (line: string) => io.stderr.write(`${redact(line)}\n`);
  try {
    const last = new LastThreadStore(engine.store, logging.logger);
    const target = args.followUp ? await followUpTarget(args, engine, last) : await newTarget(args, engine, config);
    if ('error' in target) {
      complain(`ai-dev run: ${target.error}`);
      return target.code;
    }
    // Terminal threads have no idle sweep of their own: free their sandboxes that idled out before this run.
    const reaper = new SandboxReaper({
      registry: engine.registry,
      provider: engine.provider,
      idleMs: config.limits.sandboxIdleMinutes * 60_000,
      mode: config.limits.sandboxIdleAction,
      // Slack threads are the bot's: never touched from here.
      isRunning: (channel) => channel !== CLI_CHANNEL,
      logger: logging.logger,
    });
    await reaper.sweep();

    const { threadTs, repos } = target;
    const before = new Map(repos.map((r) => [r.repo, { published: r.published, pr: r.pr }]));
    const ts = args.followUp ? terminalTs() : threadTs;
    const result = await engine.coordinator.submit(
      CLI_CHANNEL,
      threadTs,
      { user: requester, text: args.task, ts },
      args.followUp ? undefined : { startedBy: requester, repos },
    );
    if (result === 'unknown-thread') {
      complain('ai-dev run: the last terminal thread is gone from the store; start a new one');
      return USAGE_ERROR;
    }
    await last.set(threadTs, repos[0]?.repo ?? '');
    if (result === 'queued') say('(another run of this thread is going on; the task waits for it)');

    let interrupts = 0;
    const onInterrupt = () => {
      interrupts += 1;
      if (interrupts > 1) process.exit(130);
      say('■ Stopping (Ctrl-C again to quit at once)…');
      void engine.coordinator.stop(CLI_CHANNEL, threadTs, `${requester} (Ctrl-C)`);
    };
    process.on('SIGINT', onInterrupt);
    try {
      await engine.coordinator.idle();
    } finally {
      process.off('SIGINT', onInterrupt);
    }

    const outcome = reporter.outcome;
    if (engine.provider.name === 'local') {
      // A local sandbox is a directory this process alone can reach: free it now. The next --follow-up
      // starts from the published branch (E2B sandboxes stay for follow-ups until they idle out).
      for (const repo of repos) await reaper.releaseRepo(CLI_CHANNEL, repo.repo);
    }
    if (unpublished) {
      // The publish record of a --no-pr run describes nothing on GitHub: put the previous one back.
      await engine.threads.update(CLI_CHANNEL, threadTs, (state) => ({
        ...state,
        repos: state.repos.map((r) => ({ ...r, ...(before.get(r.repo) ?? { published: undefined, pr: undefined }) })),
      }));
      for (const branch of unpublished.branches.values()) {
        say('');
        say(
          `${branch.repo}: branch ${branch.branch}, ${branch.commits} commit${branch.commits === 1 ? '' : 's'} on ${branch.baseBranch}, not published (--no-pr). The diff:`,
        );
        say(branch.diff || '(no changes)');
      }
    }
    if (outcome) say(costLine(outcome.totals));
    say(`thread ${threadTs} (continue it with: ai-dev run --follow-up "…")`);
    return exitCodeOf(outcome);
  } finally {
    await engine.store.close().catch(() => {});
  }
}

type Target = { threadTs: string; repos: ThreadRepo[] } | { error: string; code: number };

async function newTarget(args: RunArgs, engine: RunStack, config: CliConfig): Promise<Target> {
  if (!args.repo) return { error: 'name the repo: ai-dev run owner/repo "task"', code: USAGE_ERROR };
  const ref = parseRepoRef(args.repo, config.github.serverUrl);
  if (!ref) {
    return { error: `${args.repo} is not a repository; write owner/repo or its URL`, code: USAGE_ERROR };
  }
  const full = `${ref.owner}/${ref.name}`;
  if (!new AccessPolicy(config.access).repoAllowed(full)) {
    return { error: `${full} is not in ALLOW_REPOS (${config.access.repoPatterns.join(', ')})`, code: USAGE_ERROR };
  }
  const checked = await lookUp(ref, engine, args.noPr);
  if ('error' in checked) return checked;
  return {
    threadTs: terminalTs(),
    repos: [
      {
        repo: checked.fullName,
        baseBranch: args.base ?? checked.defaultBranch,
        branch: branchName(args.task),
        private: checked.private,
      },
    ],
  };
}

/** The repo as GitHub knows it; pushing must be allowed unless nothing is published (`--no-pr`). */
async function lookUp(
  ref: RepoRef,
  engine: RunStack,
  readOnly: boolean,
): Promise<{ fullName: string; defaultBranch: string; private: boolean } | { error: string; code: number }> {
  try {
    if (!readOnly) return await new RepoChecker(engine.credentials, engine.octokitFor).check(ref);
    const token = await engine.credentials.tokenFor(ref, 'read');
    const { data } = await engine.octokitFor(token).repos.get({ owner: ref.owner, repo: ref.name });
    return { fullName: data.full_name, defaultBranch: data.default_branch, private: data.private };
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (status === 404) return { error: `${ref.owner}/${ref.name} not found, or not visible to the bot`, code: 1 };
    return { error: error instanceof AppError ? error.userMessage : errorMessage(error), code: 1 };
  }
}

async function followUpTarget(args: RunArgs, engine: RunStack, last: LastThreadStore): Promise<Target> {
  const pointer = await last.get();
  if (!pointer) {
    return {
      error: 'there is no terminal thread to follow up yet; start one with ai-dev run owner/repo "task"',
      code: 2,
    };
  }
  const state = await engine.threads.get(CLI_CHANNEL, pointer.threadTs);
  if (!state) return { error: 'the last terminal thread is gone from the store; start a new one', code: USAGE_ERROR };
  if (args.repo && !state.repos.some((r) => r.repo.toLowerCase() === args.repo?.toLowerCase())) {
    return {
      error: `the last terminal thread works on ${state.repos.map((r) => r.repo).join(', ')}, not ${args.repo}; drop the repo to follow it up, or leave out --follow-up to start a new thread`,
      code: USAGE_ERROR,
    };
  }
  return { threadTs: state.threadTs, repos: state.repos };
}

/** Who asked, as the pull request's body names them. */
function terminalUser(): string {
  try {
    return userInfo().username || 'someone';
  } catch {
    return 'someone';
  }
}
