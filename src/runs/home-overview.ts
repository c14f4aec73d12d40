import type { RunEvent } from '../agent/events.js';
import type { Logger } from '../lib/logger.js';
import { type ChannelHistoryStore, startOfWeek } from '../store/channel-history.js';
import type { LinkStore } from '../store/link-store.js';
import type { ThreadStore } from '../store/thread-store.js';
import type { AccessPolicy } from './access-policy.js';
import type { RunReporter } from './ports.js';

/** Keeps each finished run's cost and pull request in its channel's history (for the Home tab). */
export function historyRecorder(
  deps: { history: ChannelHistoryStore; threads: ThreadStore; logger: Logger },
  channel: string,
  threadTs: string,
): RunReporter {
  let task: string | undefined;
  let repo: string | undefined;
  let writing: Promise<void> | undefined;
  return {
    handle: (event: RunEvent) => {
      if (event.type === 'run-start') {
        task = event.task;
        repo = event.repo;
      }
      if (event.type !== 'run-end' || event.outcome.kind === 'interrupted') return;
      const outcome = event.outcome;
      writing = (async () => {
        const state = await deps.threads.get(channel, threadTs);
        const pr = outcome.kind === 'pull-request' ? outcome : undefined;
        await deps.history.recordRun(channel, {
          user: state?.startedBy ?? 'unknown',
          dollars: outcome.totals.cost?.dollars ?? 0,
          ...(pr
            ? {
                pullRequest: {
                  repo: repo ?? state?.repos[0]?.repo ?? '',
                  number: pr.number,
                  url: pr.url,
                  title: task ?? 'Changes requested in Slack',
                },
              }
            : {}),
        });
      })().catch((error: unknown) => deps.logger.warn({ err: error, channel }, 'could not keep the run in history'));
    },
    flush: async () => {
      await writing;
    },
  };
}

export interface HomeOverviewDeps {
  links: LinkStore;
  threads: ThreadStore;
  history: ChannelHistoryStore;
  access: AccessPolicy;
  /**
   * The channels the person is in (Slack's `users.conversations`, see slack/channel-membership.ts); `undefined`
   * when Slack would not say, and then no channel is listed: a private channel must not show to someone not in it.
   */
  memberChannels: (user: string) => Promise<{ channels: ReadonlySet<string>; truncated: boolean } | undefined>;
  now?: () => number;
}

/**
 * What one person's Home tab shows: the linked channels they are in, each with its allowed repos, runs in progress
 * or paused, and the dollars its runs spent this week; then those channels' recent pull requests.
 */
export class HomeOverview {
  constructor(private readonly deps: HomeOverviewDeps) {}

  async forUser(user: string) {
    const now = (this.deps.now ?? Date.now)();
    const weekStart = startOfWeek(now);
    const channels = [];
    const pulls = [];
    const member = await this.deps.memberChannels(user).catch(() => undefined);
    for (const { channel, links } of await this.deps.links.all()) {
      if (!member?.channels.has(channel)) continue;
      const history = await this.deps.history.get(channel);
      const active = await this.deps.threads.active(channel);
      channels.push({
        channelId: channel,
        repos: links.map((l) => l.repo).filter((r) => this.deps.access.repoAllowed(r)),
        activeRuns: active
          .filter((t) => t.status === 'running' || t.status === 'budget-reached')
          .map((t) => ({
            repo: t.repos.map((r) => r.repo).join(', '),
            ...(t.permalink ? { permalink: t.permalink } : {}),
            startedAt: Date.parse(t.createdAt),
            paused: t.status === 'budget-reached',
          })),
        dollarsThisWeek: history.spend
          .filter((s) => Date.parse(s.at) >= weekStart)
          .reduce((sum, s) => sum + s.dollars, 0),
      });
      pulls.push(...history.pullRequests.map((p) => ({ ...p, channelId: channel })));
    }
    pulls.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    const notice = !member
      ? 'Slack did not say which channels you are in, so none is listed here. An admin may need to grant the app the channels:read and groups:read scopes (manifest.yml) and reinstall it.'
      : member.truncated
        ? 'You are in many channels: only the first ones Slack listed were checked for linked repos.'
        : undefined;
    return {
      channels,
      recentPullRequests: pulls.map(({ at: _at, ...p }) => p),
      now,
      ...(notice ? { notice } : {}),
    };
  }
}
